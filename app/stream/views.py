"""Placeholder blueprint; replaced by the stream work."""

from flask import Blueprint

bp = Blueprint("stream", __name__)
