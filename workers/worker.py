"""Entry module for ``celery -A workers.worker``: the app built from the environment."""

from app.config import Settings
from workers.celery_app import make_celery

celery = make_celery(Settings())
