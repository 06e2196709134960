"""Public pages (no login): the map with its table alternative, downloads, the method page."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from agencies.models import Agency
from common import maps
from common.csv_safe import csv_text
from predictions.taxonomy import CATEGORIES
from public import privacy, serving
from public.models import BudgetEntry


@require_GET
def index(request):
    published = (
        Agency.objects.filter(publishes_public_map=True, public_releases__isnull=False)
        .distinct()
        .order_by("name")
    )
    return render(request, "public/index.html", {"agencies": published})


def _chart(values: list[int], last_year: list[int | None], months: list[str], width=640,
           height=180, pad=52):
    """A simple SVG line chart (this year and, where published, the year before) with its
    value axis (lowest and highest value) and month labels (first, middle, last)."""
    known = [v for v in values + [x for x in last_year if x is not None]]
    top = max(max(known, default=1), 1)
    low = min(min(known, default=0), 0)
    n = max(len(values) - 1, 1)

    def x(i):
        return round(pad + i * (width - 2 * pad) / n, 1)

    def xy(i, v):
        y = height - pad - (v - low) * (height - 2 * pad) / (top - low or 1)
        return f"{x(i):.1f},{y:.1f}"

    now = " ".join(xy(i, v) for i, v in enumerate(values))
    before = " ".join(xy(i, v) for i, v in enumerate(last_year) if v is not None)
    ticks = sorted({0, len(months) // 2, len(months) - 1}) if months else []
    return {
        "width": width,
        "height": height,
        "pad": pad,
        "now": now,
        "before": before,
        "top": top,
        "low": low,
        "top_y": pad,
        "base": height - pad,
        "months": [{"x": x(i), "label": months[i],
                    "anchor": "start" if i == 0 and len(ticks) > 1 else
                    "end" if i == len(months) - 1 and len(ticks) > 1 else "middle"}
                   for i in ticks],
    }


MAP_PARAMS = ("category", "from", "to")


@require_GET
@maps.draws_map
def map_page(request, slug):
    """The map page. Its main part (table alternative, trend, controls) is the same for every
    visitor: rendered once per state of the releases and parameters, kept in the cache."""
    pub = serving.published(slug)  # the one query: 404 as soon as the map is switched off
    query = {p: request.GET.get(p, "") for p in MAP_PARAMS}
    name = "public-page:" + serving.answer_key(pub, "map_page", [query[p] for p in MAP_PARAMS])
    body = cache.get(name)
    if body is None:
        context = _map_context(serving.bundle_of(pub), query)
        body = str(render_to_string("public/map_body.html", context))
        cache.set(name, body, settings.PUBLIC_CACHE_SECONDS)
    # our own template's output, escaped when it was rendered
    response = render(request, "public/map.html", {"name": pub.name, "body": mark_safe(body)})
    return maps.allow(response, connect_src=maps.origin(settings.PUBLIC_GEOCODER_URL))


def _map_context(bundle: serving.Bundle, query: dict) -> dict:
    sel = serving.select(bundle, query)
    summary = serving.summary(bundle, sel)
    rows = []
    if sel.level == "cell":
        values = serving.cell_values(bundle, sel)
        order = sorted(range(len(values)), key=lambda i: (-values[i], i))
        names = bundle.places.cell_names() if bundle.places else [""] * len(values)
        rows = [
            {
                "area": bundle.cell_ids[i],
                "place": names[i],
                "lat": bundle.centres[i][0],
                "lon": bundle.centres[i][1],
                "shown": serving.shown(values[i]),
            }
            for i in order
        ]
    place_rows = []
    if bundle.places is not None and sel.level == "cell":
        place_rows = sorted(
            (f["properties"] for f in serving.places_geojson(bundle, sel)["features"]),
            key=lambda p: (p["value"] is None, -(p["value"] or 0), p["name"]))
    trend = serving.trend(bundle, sel.category, None, sel.start, sel.end)
    chart = _chart([p["value"] for p in trend["points"]], [p["last_year"] for p in trend["points"]],
                   [p["month"] for p in trend["points"]])
    config = {
        "slug": bundle.slug,
        "mapUrl": reverse("public-api-map", args=[bundle.slug]),
        "trendUrl": reverse("public-api-trend", args=[bundle.slug]),
        "placesUrl": reverse("public-api-places", args=[bundle.slug]) if bundle.places else "",
        "searchUrl": reverse("public-api-search", args=[bundle.slug]) if bundle.places else "",
        "geocoder": settings.PUBLIC_GEOCODER_URL,
        "small": serving.shown(0),
        "tiles": maps.tiles(),
    }
    return {
        "bundle": bundle,
        "sel": sel,
        "summary": summary,
        "rows": rows,
        "place_rows": place_rows,
        "places_name": bundle.places and "named areas",
        "trend": trend,
        "chart": chart,
        "config": config,
        "categories": bundle.categories,
        "category_label": CATEGORIES[sel.category].label,
        "months": bundle.months,
        "query": urlencode({k: v for k, v in query.items() if v}),
        "method": serving.method(bundle),
    }


@require_GET
def method_page(request, slug):
    bundle = serving.bundle_for(slug)
    info = serving.method(bundle)
    tails = [
        {"k": k, "p": round(100 * privacy.geometric_tail(bundle.epsilon, k), 1)}
        for k in (1, 2, 3, 5)
    ]
    return render(
        request,
        "public/method.html",
        {
            "bundle": bundle,
            "method": info,
            "tails": tails,
            "cell_categories": [CATEGORIES[c].label for c in bundle.counts],
            "city_categories": [CATEGORIES[c].label for c in bundle.city],
            "ledger": BudgetEntry.objects.filter(agency_id=bundle.agency_id)
            .order_by("month", "pk")[:600],
        },
    )


@require_GET
def download(request, slug, fmt):
    bundle = serving.bundle_for(slug)
    sel = serving.select(bundle, request.GET)
    period = f"{bundle.months[sel.start]}-{bundle.months[sel.end]}"
    name = f"{bundle.slug}-public-{sel.category}-{period}"
    if fmt == "geojson":
        body = json.dumps(serving.map_geojson(bundle, sel), separators=(",", ":"))
        response = HttpResponse(body, content_type="application/geo+json")
    elif fmt == "csv":
        names = bundle.places.cell_names() if bundle.places else [""] * len(bundle.cell_ids)
        rows = []
        for m in range(sel.start, sel.end + 1):
            month = bundle.months[m]
            if sel.level == "cell":
                table = bundle.counts[sel.category]
                for cid, v, (lat, lon), place in zip(bundle.cell_ids, table[m].tolist(),
                                                     bundle.centres, names, strict=True):
                    rows.append([month, sel.category, cid, lat, lon, place, v,
                                 serving.shown(v)])
            else:
                value = int(bundle.city[sel.category][m])
                rows.append([month, sel.category, "city", "", "", "", value,
                             serving.shown(value)])
        body = csv_text(["month", "category", "area", "lat", "lon", "place", "published_value",
                         "shown"], rows)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    else:
        raise Http404("unknown format")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
