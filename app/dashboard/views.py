"""Placeholder blueprint; replaced by the dashboard work."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
