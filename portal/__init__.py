"""Project wiring: settings, URLs and the Celery app."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
