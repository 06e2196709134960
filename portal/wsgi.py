"""WSGI entry point (gunicorn portal.wsgi)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
if settings.PUBLIC_EDGE:
    from public.edge import PublicEdge
    from public.watch import StateWatch

    # repeat public API answers, served before Django (public/edge.py); on PostgreSQL told
    # of changes by LISTEN/NOTIFY instead of asking on every request (public/watch.py)
    watch = StateWatch.for_default_database() if settings.PUBLIC_EDGE_LISTEN else None
    application = PublicEdge(application, watch=watch)
