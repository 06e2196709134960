"""Public API /api/v1/public/...: the same published data as the pages, cached and throttled."""

from __future__ import annotations

import hashlib
import json
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from agencies.models import Agency
from audit.request_info import client_ip
from public import serving


def throttled(request) -> bool:
    """A fixed one-minute window per client address, counted in the shared cache."""
    limit = settings.PUBLIC_API_RATE_PER_MINUTE
    key = f"public-throttle:{client_ip(request)}:{int(time.time() // 60)}"
    if cache.add(key, 1, timeout=70):
        return limit < 1
    try:
        return cache.incr(key) > limit
    except ValueError:  # expired between add and incr
        return False


def public_api(view):
    """GET only, throttled, answers cached by path, query and the agency's release version."""

    @require_GET
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if throttled(request):
            response = JsonResponse({"detail": "too many requests"}, status=429)
            response["Retry-After"] = "60"
            return response
        slug = kwargs.get("slug")
        version = ""
        if slug:
            version = serving.version_of(serving.published_agency(slug))
        query = "&".join(f"{k}={v}" for k, v in sorted(request.GET.items()))
        raw = f"{request.path}?{query}:{version}".encode()
        key = "public-api:" + hashlib.sha256(raw).hexdigest()
        body = cache.get(key)
        if body is None:
            body = json.dumps(view(request, *args, **kwargs), separators=(",", ":"))
            cache.set(key, body, settings.PUBLIC_CACHE_SECONDS)
        response = HttpResponse(body, content_type="application/json")
        response["Cache-Control"] = f"public, max-age={min(settings.PUBLIC_CACHE_SECONDS, 300)}"
        return response

    return wrapper


@public_api
def agencies(request):
    published = (Agency.objects.filter(publishes_public_map=True, public_releases__isnull=False)
                 .distinct().order_by("name"))
    return {"agencies": [{"slug": a.slug, "name": a.name} for a in published]}


@public_api
def meta(request, slug):
    bundle = serving.bundle_for(slug)
    return {"agency": {"slug": bundle.slug, "name": bundle.name}, "months": bundle.months,
            "categories": bundle.categories, "areas": len(bundle.cell_ids),
            "method": serving.method(bundle)}


@public_api
def map_data(request, slug):
    bundle = serving.bundle_for(slug)
    sel = serving.select(bundle, request.GET)
    data = serving.map_geojson(bundle, sel)
    data["summary"] = serving.summary(bundle, sel)
    return data


@public_api
def trend(request, slug):
    bundle = serving.bundle_for(slug)
    category = request.GET.get("category") or next(iter(bundle.counts))
    if category not in bundle.counts and category not in bundle.city:
        raise Http404("category not published")
    return serving.trend(bundle, category, request.GET.get("area") or None)


@public_api
def month(request, slug, month):
    bundle = serving.bundle_for(slug)
    i = bundle.month_index(month)  # 404 for unpublished, future or in-delay months
    return {
        "month": bundle.months[i],
        "areas": bundle.cell_ids,
        "counts": {c: bundle.counts[c][i].tolist() for c in bundle.counts},
        "city_counts": {c: int(bundle.city[c][i]) for c in bundle.city},
        "epsilon": bundle.epsilon, "mechanism": bundle.mechanism,
    }
