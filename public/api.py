"""Public API /api/v1/public/...: the same published data as the pages, cached and throttled.

A request costs one cheap query (`serving.published`: is the map still published, and which
state are its releases in) and one cache read. Each answer is built once per state of the
agency's releases and parameters, serialized, gzip-compressed, and kept in the cache as bytes
under a key naming that state, so a release added or withdrawn, or the map switched off,
is seen by the very next request. Clients revalidate every time (`no-cache`) with the ETag,
which names the same state: a 304 costs no cache read. In production `public.edge` serves
repeat answers in front of Django, after the same checks.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max
from django.http import Http404, HttpResponse, HttpResponseNotModified, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from agencies.models import Agency
from audit.request_info import client_ip
from predictions.models import Forecast, ForecastModel, ForecastScore
from predictions.scoring.scorecard import PUBLIC_MIN_EVENTS, agency_scorecard
from public import serving

CACHE_CONTROL = "public, no-cache"  # stored copies are revalidated (ETag) before each use
# part of the scorecard's cache key and ETag: raise it when the answer's form or wording changes
SCORECARD_VERSION = 1


THROTTLE_VERDICT = "public.throttled"  # environ key: public.edge has counted this request


def throttled(request) -> bool:
    """A fixed one-minute window per client address, counted in the shared cache (once per
    request: the edge, when it has counted a request it passes on, leaves its verdict)."""
    verdict = request.META.get(THROTTLE_VERDICT)
    if verdict is not None:
        return verdict
    limit = settings.PUBLIC_API_RATE_PER_MINUTE
    key = f"public-throttle:{client_ip(request)}:{int(time.time() // 60)}"
    if cache.add(key, 1, timeout=70):
        return limit < 1
    try:
        return cache.incr(key) > limit
    except ValueError:  # expired between add and incr
        return False


def too_many() -> JsonResponse:
    response = JsonResponse({"detail": "too many requests"}, status=429)
    response["Retry-After"] = "60"
    return response


def accepts_gzip(request) -> bool:
    """Whether Accept-Encoding allows gzip (`gzip;q=0` refuses it)."""
    for item in request.META.get("HTTP_ACCEPT_ENCODING", "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "*"):
            continue
        q = params.strip()
        if q.startswith("q="):
            try:
                return float(q[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def etag_matches(request, etag: str) -> bool:
    """If-None-Match, compared weakly as RFC 9110 says."""
    given = request.META.get("HTTP_IF_NONE_MATCH", "")
    if not given:
        return False
    if given.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in given.split(","))


def encoded_answer(key: str, gzipped: bool, build: Callable[[], dict]) -> bytes:
    """The answer's JSON bytes (gzip-compressed when asked) from the cache, built and stored
    in both encodings on a miss. Errors (404) are never stored."""
    name = f"public-answer:{key}:{'gz' if gzipped else 'raw'}"
    body = cache.get(name)
    if body is None:
        raw = json.dumps(build(), separators=(",", ":")).encode()
        packed = gzip.compress(raw, compresslevel=6, mtime=0)
        cache.set_many(
            {f"public-answer:{key}:raw": raw, f"public-answer:{key}:gz": packed},
            settings.PUBLIC_CACHE_SECONDS,
        )
        body = packed if gzipped else raw
    return body


def etag_for(key: str) -> str:
    return f'W/"{key}"'


def send(request, key: str, build: Callable[[], dict]) -> HttpResponse:
    etag = etag_for(key)
    if etag_matches(request, etag):
        response = HttpResponseNotModified()
    else:
        gzipped = accepts_gzip(request)
        response = HttpResponse(
            encoded_answer(key, gzipped, build), content_type="application/json"
        )
        if gzipped:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    response["Vary"] = "Accept-Encoding"
    return response


def public_api(*params: str):
    """GET only, throttled; the view `(bundle, query, **url kwargs) -> dict` sees only the
    query parameters named here, which (with the URL and the releases' state) key its answer."""

    def decorate(view):
        @csrf_exempt  # no cookie, no session: an unsafe method gets require_GET's 405
        @require_GET
        @wraps(view)
        def wrapper(request, slug, **kwargs):
            if throttled(request):
                return too_many()
            pub = serving.published(slug)  # 404 as soon as the map is switched off
            query = {p: request.GET.get(p, "") for p in params}
            key = serving.answer_key(
                pub, view.__name__, sorted(kwargs.items()), [query[p] for p in params]
            )
            return send(request, key, lambda: view(serving.bundle_of(pub), query, **kwargs))

        wrapper.public_answer = (view.__name__, params)  # how public.edge keys it
        return wrapper

    return decorate


@csrf_exempt
@require_GET
def agencies(request):
    """The agencies publishing a map now (one query, never cached: nothing to build)."""
    if throttled(request):
        return too_many()
    published = (
        Agency.objects.filter(publishes_public_map=True, public_releases__isnull=False)
        .distinct()
        .order_by("name")
        .values_list("slug", "name")
    )
    response = JsonResponse({"agencies": [{"slug": s, "name": n} for s, n in published]})
    response["Cache-Control"] = CACHE_CONTROL
    return response


@public_api()
def meta(bundle, query):
    return {
        "agency": {"slug": bundle.slug, "name": bundle.name},
        "months": bundle.months,
        "categories": bundle.categories,
        "areas": len(bundle.cell_ids),
        "method": serving.method(bundle),
    }


@public_api("category", "from", "to")
def map_data(bundle, query):
    sel = serving.select(bundle, query)
    data = serving.map_geojson(bundle, sel)
    data["summary"] = serving.summary(bundle, sel)
    return data


@public_api("category", "area", "from", "to")
def trend(bundle, query):
    """Monthly values; `from`/`to` (YYYY-MM) narrow it to the map's selection."""
    category = query["category"] or next(iter(bundle.counts))
    if category not in bundle.counts and category not in bundle.city:
        raise Http404("category not published")
    start, end = serving.month_range(bundle, query)
    return serving.trend(bundle, category, query["area"] or None, start, end)


@public_api()
def month(bundle, query, month):
    i = bundle.month_index(month)  # 404 for unpublished, future or in-delay months
    return {
        "month": bundle.months[i],
        "areas": bundle.cell_ids,
        "counts": {c: bundle.counts[c][i].tolist() for c in bundle.counts},
        "city_counts": {c: int(bundle.city[c][i]) for c in bundle.city},
        "epsilon": bundle.epsilon,
        "mechanism": bundle.mechanism,
    }


@public_api("category", "from", "to")
def places(bundle, query):
    """The named areas (the agency's reference layer) with their values for the selection."""
    return serving.places_geojson(bundle, serving.select(bundle, query))


@public_api("q")
def search(bundle, query):
    """Named areas whose name holds `q`: names only, never an address or an incident."""
    q = query["q"][:100]
    found = bundle.places.search(q) if bundle.places else []
    return {"query": q, "results": found}


@csrf_exempt
@require_GET
def scorecard(request, slug):
    """The agency's forecast scorecard, as its transparency page shows it: per model and
    month of forecast windows, forecasts issued and scored, the coverage viewed, hit rate
    and PAI there against the baseline, and each group's exposure ratio. Aggregates of
    stored scores only (never an incident, a cell or an incident count); every agency's,
    as every agency has a transparency page. Served like the other answers (`send`: cached,
    gzip, ETag), keyed by the state of the agency's forecasts, scores and models (three
    small queries): a new score or forecast, or a renamed model, is seen by the next
    request."""
    if throttled(request):
        return too_many()
    agency = Agency.objects.filter(slug=slug).only("pk", "slug", "name").first()
    if agency is None:
        raise Http404("no such agency")
    state = [Forecast.objects.filter(agency=agency).aggregate(n=Count("pk"), last=Max("pk")),
             ForecastScore.objects.filter(agency=agency).aggregate(
                 n=Count("pk"), last=Max("pk"), at=Max("scored_at"))]
    models = list(ForecastModel.objects.filter(agency=agency).order_by("pk").values_list(
        "pk", "name", "category", "horizon_days", "method"))  # names shown on the card
    key = "scorecard-" + hashlib.sha256(json.dumps(
        [SCORECARD_VERSION, PUBLIC_MIN_EVENTS, agency.pk, agency.name, state, models],
        default=str).encode()).hexdigest()[:32]
    return send(request, key, lambda: {
        "agency": {"slug": agency.slug, "name": agency.name},
        "min_events": PUBLIC_MIN_EVENTS, "models": agency_scorecard(agency)})
