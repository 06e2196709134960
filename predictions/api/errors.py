"""Error pages of the API: JSON under /api/, as the schema documents them.

Django answers a 404 with an HTML page: for a URL no route matches and for `Http404` raised
by a plain Django view (the public API's unpublished maps, months, categories and areas).
Under /api/ the answer is `{"detail": ...}` instead (the `Error` schema); elsewhere it is
Django's page, as before.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.urls import Resolver404
from django.views import defaults

API_PREFIX = "/api/"


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if not request.path.startswith(API_PREFIX):
        return defaults.page_not_found(request, exception, template_name)
    message = exception.args[0] if exception is not None and exception.args else None
    if isinstance(exception, Resolver404) or not isinstance(message, str) or not message:
        message = "Not found."
    return JsonResponse({"detail": message}, status=404)
