"""Placeholder blueprint; replaced by the docs work."""

from flask import Blueprint

bp = Blueprint("docs", __name__)
