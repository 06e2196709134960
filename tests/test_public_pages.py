"""Public pages and API: no login, only published aggregates, nothing finer than a month."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from django.urls import reverse

from agencies.models import Agency
from predictions.models import Incident
from public.models import PublicRelease


def public_urls(area: str) -> list[str]:
    q = "?category=burglary&from=2024-02&to=2024-04"
    return [
        reverse("public-index"),
        reverse("public-map", args=["alpha"]),
        reverse("public-map", args=["alpha"]) + q,
        reverse("public-map", args=["alpha"]) + "?category=sexual_offence",
        reverse("public-method", args=["alpha"]),
        reverse("public-download", args=["alpha", "csv"]),
        reverse("public-download", args=["alpha", "csv"]) + q,
        reverse("public-download", args=["alpha", "geojson"]) + q,
        reverse("public-api-agencies"),
        reverse("public-api-meta", args=["alpha"]),
        reverse("public-api-map", args=["alpha"]),
        reverse("public-api-map", args=["alpha"]) + q,
        reverse("public-api-map", args=["alpha"]) + "?category=sexual_offence",
        reverse("public-api-trend", args=["alpha"]) + "?category=theft",
        reverse("public-api-trend", args=["alpha"]) + f"?category=theft&area={area}",
        reverse("public-api-trend", args=["alpha"]) + "?category=sexual_offence",
        reverse("public-api-month", args=["alpha", "2024-03"]),
        reverse("public-api-places", args=["alpha"]),
        reverse("public-api-places", args=["alpha"]) + q,
        reverse("public-api-trend", args=["alpha"]) + "?category=theft&area=p0",
        reverse("public-api-search", args=["alpha"]) + "?q=old",
        reverse("public-api-search", args=["alpha"]) + "?q=oak",  # a street's name
        reverse("public-api-search", args=["alpha"]) + "?q=block",
        reverse("public-api-scorecard", args=["alpha"]),
    ]


def score_past_forecasts(world) -> None:
    """Alpha's model forecasts two past weeks of its data (as if issued then), and every
    due forecast is scored: the public scorecard has figures to crawl."""
    from datetime import timedelta

    from predictions.forecasts.generation import generate_forecast
    from predictions.scoring.scoring import due_forecast_ids, score_forecast

    forecast = world.forecast
    for weeks in (2, 3):
        generate_forecast(forecast.model_id, forecast.window_start - timedelta(weeks=weeks))
    for forecast_id in due_forecast_ids():
        score_forecast(forecast_id)


def corner_coordinates(client) -> set[float]:
    """Every precise number the public may see: the grid cells' corners and centres, and
    the named areas' outlines, inner points and bounds (none of them an incident's)."""
    data = client.get(reverse("public-api-map", args=["alpha"])).json()
    known = {
        c
        for f in data["features"]
        for ring in f["geometry"]["coordinates"]
        for point in ring
        for c in point
    }
    known |= {f["properties"][k] for f in data["features"] for k in ("lat", "lon")}
    places = client.get(reverse("public-api-places", args=["alpha"])).json()["features"]
    for f in places:
        known |= {c for ring in f["geometry"]["coordinates"] for point in ring for c in point}
        known |= {f["properties"]["lat"], f["properties"]["lon"]}
    for f in client.get(reverse("public-api-search", args=["alpha"]) + "?q=e").json()["results"]:
        known |= {c for corner in f["bounds"] for c in corner}
    return known


TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}|\d{2}:\d{2}(:\d{2})?|T\d{2}")
NUMBER = re.compile(r"-?\d+\.\d{4,}")  # 4 decimals of a degree: ~11 m


def test_no_public_response_reveals_an_incident(published):
    from predictions.demo import seed_neighbourhoods

    seed_neighbourhoods(published.alpha, published.anna)  # named areas on the public map
    score_past_forecasts(published)  # figures on the public scorecard
    assert published.forecast.model.scores.count() == 2
    client = published.client_for("anonymous")
    incidents = list(
        Incident.objects.filter(agency=published.alpha).values_list(
            "source_id", "pk", "lon", "lat", "address"
        )
    )
    source_ids = {i[0] for i in incidents}
    addresses = {i[4] for i in incidents if i[4]}
    points = {round(v, 6) for i in incidents for v in (i[2], i[3]) if v is not None}
    corners = corner_coordinates(client)
    assert len(corners) > 50
    area = client.get(reverse("public-api-map", args=["alpha"])).json()["features"][0]["id"]
    for url in public_urls(area):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        if "text/html" in response["Content-Type"]:
            body = re.sub(r"<script src=[^>]*>", "", body)
        assert not any(sid in body for sid in source_ids), url
        assert not any(a in body for a in addresses), url
        for field_name in ("occurred", "source_id", '"address"', '"pk"'):
            assert field_name not in body, (url, field_name)
        assert not TIMESTAMP.search(body), (url, TIMESTAMP.search(body))
        for match in NUMBER.findall(body):  # every precise number is a grid-cell corner
            assert float(match) in corners, (url, match)
        assert not any(f"{p:.6f}" in body for p in points if p not in corners), url
        if response["Content-Type"].startswith("application/"):
            json.loads(body)


def test_the_map_page_has_a_table_alternative_and_the_method_page_explains(published):
    client = published.client_for("anonymous")
    page = client.get(reverse("public-map", args=["alpha"])).content.decode()
    assert 'id="area-table"' in page and "leaflet/leaflet.js" in page and "cdn" not in page
    assert "Download CSV" in page and "0-4" in page
    method = client.get(reverse("public-method", args=["alpha"])).content.decode()
    for words in ("30 days", "ε = 1.0", "Sexual offence", "9 cases out of 10"):
        assert words in method


def test_sensitive_categories_are_never_mapped_by_area(published):
    client = published.client_for("anonymous")
    data = client.get(reverse("public-api-map", args=["alpha"]) + "?category=sexual_offence")
    assert data.json()["features"] == [] and data.json()["level"] == "city"
    trend = reverse("public-api-trend", args=["alpha"]) + "?category=sexual_offence&area=c7"
    assert client.get(trend).status_code == 404
    page = client.get(reverse("public-map", args=["alpha"]) + "?category=sexual_offence")
    assert 'id="area-table"' not in page.content.decode()


def test_totals_and_trends_agree_with_the_published_cells(published):
    client = published.client_for("anonymous")
    url = reverse("public-api-map", args=["alpha"]) + "?category=theft&from=2024-02&to=2024-03"
    data = client.get(url).json()
    total = sum(f["properties"]["value"] for f in data["features"])
    assert data["summary"]["city_total"] == total
    releases = PublicRelease.objects.filter(
        agency=published.alpha, month__in=[date(2024, 2, 1), date(2024, 3, 1)]
    )
    assert total == sum(sum(r.counts["theft"]) for r in releases)
    trend = client.get(reverse("public-api-trend", args=["alpha"]) + "?category=theft").json()
    feb_mar = [p["value"] for p in trend["points"] if p["month"] in ("2024-02", "2024-03")]
    assert sum(feb_mar) == total
    assert data["summary"]["last_year_total"] is None  # 2023 was never published


def test_csv_download_is_formula_safe_and_in_month_units(published):
    client = published.client_for("anonymous")
    response = client.get(reverse("public-download", args=["alpha", "csv"]) + "?from=2024-05")
    lines = response.content.decode().splitlines()
    assert lines[0] == '"month","category","area","lat","lon","place","published_value","shown"'
    assert all(line.startswith('"2024-05",') for line in lines[1:])
    # noise makes some values negative: numbers, never quoted text (issue 17); text cells
    # stay formula-safe (tests/test_csv_safe.py)
    assert any(",-" in line for line in lines[1:])
    assert not any(",'" in line for line in lines[1:])


@pytest.mark.parametrize(
    "url",
    [
        "/public/bravo/",
        "/public/bravo/method/",
        "/public/bravo/download.csv",
        "/api/v1/public/bravo/",
        "/api/v1/public/bravo/map/",
        "/api/v1/public/nowhere/",
    ],
)
def test_unpublished_agencies_are_not_served(published, url):
    assert published.client_for("anonymous").get(url).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "?from=2031-01",
        "?to=2031-01",
        "?from=2023-12",
        "?category=nonsense",
        "?from=2024-05&to=2024-01",
    ],
)
def test_unpublished_months_are_not_served(published, query):
    client = published.client_for("anonymous")
    for name in ("public-map", "public-api-map"):
        assert client.get(reverse(name, args=["alpha"]) + query).status_code == 404
    assert client.get(reverse("public-download", args=["alpha", "csv"]) + query).status_code == 404


def test_months_inside_the_delay_are_not_served_even_if_stored(published):
    release = PublicRelease.objects.get(agency=published.alpha, month=date(2024, 5, 1))
    from django.utils import timezone

    today = timezone.localdate()
    release.month = date(today.year, today.month, 1)  # as if this month had been stored
    release.save()
    client = published.client_for("anonymous")
    key = f"{today:%Y-%m}"
    assert client.get(reverse("public-api-month", args=["alpha", key])).status_code == 404
    assert client.get(reverse("public-map", args=["alpha"]) + f"?to={key}").status_code == 404
    meta = client.get(reverse("public-api-meta", args=["alpha"])).json()
    assert key not in meta["months"]


def test_the_api_is_throttled(published, settings):
    settings.PUBLIC_API_RATE_PER_MINUTE = 3
    client = published.client_for("anonymous")
    url = reverse("public-api-meta", args=["alpha"])
    assert [client.get(url).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_new_release_is_seen_at_once(published):
    client = published.client_for("anonymous")
    url = reverse("public-api-meta", args=["alpha"])
    assert len(client.get(url).json()["months"]) == 5
    PublicRelease.objects.filter(agency=published.alpha, month=date(2024, 5, 1)).delete()
    assert len(client.get(url).json()["months"]) == 4


# --- cached answers: built once per state of the releases, never stale --------------------
MAP_Q = "?category=theft&from=2024-03&to=2024-03"


def cached_urls() -> list[str]:
    return [
        reverse("public-api-map", args=["alpha"]) + MAP_Q,
        reverse("public-api-map", args=["alpha"]),
        reverse("public-api-meta", args=["alpha"]),
        reverse("public-api-trend", args=["alpha"]) + "?category=theft",
        reverse("public-api-month", args=["alpha", "2024-03"]),
        reverse("public-map", args=["alpha"]) + MAP_Q,
    ]


def warm(client) -> dict[str, object]:
    """Every cached answer requested twice (raw and gzip), so that all are in the cache."""
    answers = {}
    for url in cached_urls():
        for encoding in ("gzip", ""):
            response = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
            assert response.status_code == 200, url
        answers[url] = response  # the plain one
    return answers


def test_repeated_requests_are_served_from_the_cache_with_one_query(
    published, monkeypatch, django_assert_max_num_queries
):
    import gzip

    from public import serving

    client = published.client_for("anonymous")
    url = reverse("public-api-map", args=["alpha"]) + MAP_Q
    first = client.get(url)
    packed = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    page = client.get(reverse("public-map", args=["alpha"]) + MAP_Q).content

    def no_building(*args, **kwargs):
        raise AssertionError("a cached answer was built again")

    monkeypatch.setattr(serving, "bundle_of", no_building)
    with django_assert_max_num_queries(1):  # is the map still published, in which state
        again = client.get(url)
    with django_assert_max_num_queries(1):
        page_again = client.get(reverse("public-map", args=["alpha"]) + MAP_Q).content
    assert again.content == first.content and again["ETag"] == first["ETag"]
    assert page_again == page
    assert "no-cache" in first["Cache-Control"] and "Accept-Encoding" in first["Vary"]
    assert not first.has_header("Content-Encoding")
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == first.content
    refused = client.get(url, HTTP_ACCEPT_ENCODING="gzip;q=0, identity")
    assert refused.content == first.content and not refused.has_header("Content-Encoding")
    unchanged = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged["ETag"] == first["ETag"]


def test_switching_the_map_off_stops_every_cached_answer_at_once(published):
    client = published.client_for("anonymous")
    answers = warm(client)
    # a queryset update sends no signal: nothing but the per-request check can see it
    Agency.objects.filter(pk=published.alpha.pk).update(publishes_public_map=False)
    for url, answer in answers.items():
        assert client.get(url).status_code == 404, url
        assert client.get(url, HTTP_ACCEPT_ENCODING="gzip").status_code == 404, url
        if answer.has_header("ETag"):
            assert client.get(url, HTTP_IF_NONE_MATCH=answer["ETag"]).status_code == 404
    assert client.get(reverse("public-api-agencies")).json() == {"agencies": []}
    Agency.objects.filter(pk=published.alpha.pk).update(publishes_public_map=True)
    for url, answer in answers.items():  # and back on: the same numbers as before
        again = client.get(url)
        assert again.status_code == 200, url
        if answer.has_header("ETag"):
            assert again.content == answer.content and again["ETag"] == answer["ETag"], url


def test_a_withdrawn_release_is_not_served_from_the_cache(published):
    client = published.client_for("anonymous")
    answers = warm(client)
    whole = reverse("public-api-map", args=["alpha"])
    old = answers[whole]
    PublicRelease.objects.filter(agency=published.alpha, month=date(2024, 3, 1)).delete()
    for url in cached_urls():
        expected = 200 if url in (whole, cached_urls()[2]) or "trend" in url else 404
        assert client.get(url).status_code == expected, url
        assert client.get(url, HTTP_ACCEPT_ENCODING="gzip").status_code == expected, url
    assert client.get(whole, HTTP_IF_NONE_MATCH=old["ETag"]).status_code == 200
    data = client.get(whole).json()
    assert client.get(whole)["ETag"] != old["ETag"]
    left = PublicRelease.objects.filter(agency=published.alpha)
    assert [r.month_key for r in left] == ["2024-01", "2024-02", "2024-04", "2024-05"]
    category = data["category"]
    assert data["summary"]["city_total"] == sum(sum(r.counts[category]) for r in left)
    assert [f["properties"]["value"] for f in data["features"]] == [
        sum(values) for values in zip(*(r.counts[category] for r in left), strict=True)
    ]
    meta = client.get(cached_urls()[2]).json()
    assert "2024-03" not in meta["months"]
    trend = client.get(reverse("public-api-trend", args=["alpha"]) + "?category=theft").json()
    assert "2024-03" not in [p["month"] for p in trend["points"]]


def test_a_replaced_release_is_served_with_its_new_numbers(published):
    """As many releases as before and the same months: the newer row must still be seen."""
    client = published.client_for("anonymous")
    url = reverse("public-api-map", args=["alpha"]) + MAP_Q
    before = client.get(url)
    release = PublicRelease.objects.get(agency=published.alpha, month=date(2024, 3, 1))
    counts = dict(release.counts)
    counts["theft"] = [v + 7 for v in counts["theft"]]
    release.delete()
    release.pk = None
    release.counts = counts
    release.save()
    after = client.get(url)
    assert after["ETag"] != before["ETag"]
    values = [f["properties"]["value"] for f in after.json()["features"]]
    assert values == counts["theft"]
    assert values == [f["properties"]["value"] + 7 for f in before.json()["features"]]


def test_a_month_entering_the_delay_is_not_served_from_the_cache(published, settings):
    client = published.client_for("anonymous")
    may = reverse("public-api-map", args=["alpha"]) + "?from=2024-05&to=2024-05"
    answers = warm(client)
    assert client.get(may).status_code == 200
    # a longer delay (as the calendar would do to a month stored too early): May is inside it
    from datetime import UTC, datetime

    ended = (datetime.now(UTC) - datetime(2024, 6, 1, tzinfo=UTC)).days
    settings.PUBLIC_DELAY_DAYS = ended + 2
    assert client.get(may).status_code == 404
    assert client.get(reverse("public-api-month", args=["alpha", "2024-05"])).status_code == 404
    meta = client.get(reverse("public-api-meta", args=["alpha"])).json()
    assert meta["months"] == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert client.get(cached_urls()[0]).content == answers[cached_urls()[0]].content


def test_the_page_does_not_keep_parameters_it_does_not_use(published):
    client = published.client_for("anonymous")
    page = client.get(reverse("public-map", args=["alpha"]) + MAP_Q + "&x=%22zz-marker")
    again = client.get(reverse("public-map", args=["alpha"]) + MAP_Q)
    assert "zz-marker" not in page.content.decode() + again.content.decode()
    assert "category=theft&amp;from=2024-03&amp;to=2024-03" in again.content.decode()


def test_an_unsafe_method_on_the_public_api_is_405_not_a_csrf_refusal(published):
    client = published.client_for("anonymous")
    client.handler.enforce_csrf_checks = True
    for url in (reverse("public-api-agencies"), reverse("public-api-map", args=["alpha"])):
        response = client.post(url, {})
        assert response.status_code == 405 and response["Allow"] == "GET", url
