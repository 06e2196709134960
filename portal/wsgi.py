"""WSGI entry point (gunicorn portal.wsgi)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
if settings.PUBLIC_EDGE:
    from public.edge import PublicEdge

    # repeat public API answers, served before Django (public/edge.py)
    application = PublicEdge(application)
