"""Named areas on the public map: outlines and names of the reference layer, each area's
value the sum of its cells' published values (no budget spent), search by name only."""

from __future__ import annotations

import json

import numpy as np
import shapely
from django.urls import reverse
from shapely.geometry import shape

from predictions.demo import NEIGHBOURHOOD_NAMES, seed_neighbourhoods
from public import privacy
from public.models import BudgetEntry, PublicRelease
from public.places import margin_90

Q = "?category=theft&from=2024-02&to=2024-04"


def named(world):
    return seed_neighbourhoods(world.alpha, world.anna)


def test_each_named_area_sums_the_published_cells_whose_centre_it_holds(published):
    layer = named(published)
    client = published.client_for("anonymous")
    cells = client.get(reverse("public-api-map", args=["alpha"]) + Q).json()["features"]
    places = client.get(reverse("public-api-places", args=["alpha"]) + Q).json()["features"]
    outlines = {f["properties"]["label"]: shape(f["geometry"])
                for f in json.loads(layer.geojson)["features"]}
    assert sorted(p["properties"]["name"] for p in places) == sorted(NEIGHBOURHOOD_NAMES)
    for place in places:
        name = place["properties"]["name"]
        inside = [c for c in cells if outlines[name].contains(
            shapely.Point(c["properties"]["lon"], c["properties"]["lat"]))]
        assert inside, name
        assert all(c["properties"]["place"] == name for c in inside)
        assert place["properties"]["cells"] == len(inside)
        assert place["properties"]["value"] == sum(c["properties"]["value"] for c in inside)


def test_named_areas_cost_no_privacy_budget(published):
    client = published.client_for("anonymous")
    spent = list(BudgetEntry.objects.values_list("epsilon", flat=True))
    named(published)
    client.get(reverse("public-api-places", args=["alpha"]) + Q)
    client.get(reverse("public-api-trend", args=["alpha"]) + "?category=theft&area=p0")
    assert list(BudgetEntry.objects.values_list("epsilon", flat=True)) == spent
    assert PublicRelease.objects.count() == len(spent)


def test_the_margin_of_an_area_grows_with_its_cells_and_months():
    eps = 1.0
    assert margin_90(eps, 1) == privacy.margin_90(eps)
    sd = privacy.geometric_variance(eps) ** 0.5
    assert margin_90(eps, 16, 3) == int(np.ceil(1.645 * sd * (16 * 3) ** 0.5))
    # the normal approximation holds 9 times in 10 for sums of the real noise
    rng = np.random.default_rng(3)
    a = np.exp(-eps)
    noise = rng.geometric(1 - a, (20000, 48)) - rng.geometric(1 - a, (20000, 48))
    inside = np.mean(np.abs(noise.sum(axis=1)) <= margin_90(eps, 16, 3))
    assert 0.89 <= inside <= 0.93


def test_a_named_area_has_its_trend(published):
    named(published)
    client = published.client_for("anonymous")
    places = client.get(reverse("public-api-places", args=["alpha"])).json()["features"]
    biggest = max(places, key=lambda p: p["properties"]["cells"])
    trend = client.get(reverse("public-api-trend", args=["alpha"])
                       + f"?category=theft&area={biggest['id']}").json()
    assert trend["name"] == biggest["properties"]["name"]
    cells = client.get(reverse("public-api-map", args=["alpha"])
                       + f"?category=theft&from={trend['points'][-1]['month']}"
                       f"&to={trend['points'][-1]['month']}").json()["features"]
    assert trend["points"][-1]["value"] == sum(
        c["properties"]["value"] for c in cells
        if c["properties"]["place"] == biggest["properties"]["name"])
    assert client.get(reverse("public-api-trend", args=["alpha"])
                      + "?category=theft&area=p999").status_code == 404


def test_search_finds_named_areas_and_never_addresses(published):
    named(published)
    client = published.client_for("anonymous")
    url = reverse("public-api-search", args=["alpha"])
    found = client.get(url + "?q=old t").json()["results"]
    assert [f["name"] for f in found] == ["Old Town"]
    assert found[0]["kind"] == "area" and len(found[0]["bounds"]) == 2
    assert [f["name"] for f in client.get(url + "?q=PARK").json()["results"]] == ["Elm Park"]
    # a street of the demo city, recorded in many incidents' addresses: not a place here
    assert client.get(url + "?q=oak").json()["results"] == []
    assert client.get(url + "?q=" + "x" * 500).status_code == 200


def test_choosing_another_reference_layer_changes_the_public_map_at_once(published):
    from predictions.areas.actions import do_update_layer
    from predictions.demo import seed_tracts

    named(published)
    client = published.client_for("anonymous")
    url = reverse("public-api-places", args=["alpha"])
    assert len(client.get(url).json()["features"]) == len(NEIGHBOURHOOD_NAMES)
    tracts = seed_tracts(published.alpha, published.anna)
    do_update_layer(tracts, acting_user=published.anna, use_as_covariates=False,
                    use_for_fairness=True, population_attribute="total_pop",
                    groupings=tracts.groupings, band=[0.8, 1.25], use_as_reference=True)
    names = {f["properties"]["name"] for f in client.get(url).json()["features"]}
    assert len(names) == tracts.n_features and all(n.startswith("Tract ") for n in names)


def test_without_a_reference_layer_there_are_no_named_areas(published):
    client = published.client_for("anonymous")
    data = client.get(reverse("public-api-places", args=["alpha"])).json()
    assert data["features"] == [] and data["level"] == "none"
    assert client.get(reverse("public-api-search", args=["alpha"]) + "?q=a").json()[
        "results"] == []
    page = client.get(reverse("public-map", args=["alpha"])).content.decode()
    assert 'id="place-table"' not in page and 'id="place-search"' not in page


def test_the_page_lists_named_areas_with_their_margin(published):
    named(published)
    page = published.client_for("anonymous").get(
        reverse("public-map", args=["alpha"]) + Q).content.decode()
    assert 'id="place-table"' in page and 'id="place-search"' in page
    assert all(name in page for name in NEIGHBOURHOOD_NAMES)


def test_a_sensitive_category_has_no_named_area_values(published):
    named(published)
    data = published.client_for("anonymous").get(
        reverse("public-api-places", args=["alpha"]) + "?category=sexual_offence").json()
    assert data["features"] == [] and data["level"] == "city"


def test_choosing_another_name_field_renames_the_public_areas_at_once(published):
    from predictions.areas.actions import do_update_layer
    from predictions.demo import synthetic_neighbourhoods

    features = json.loads(synthetic_neighbourhoods())["features"]
    for i, f in enumerate(features):
        f["properties"]["ward"] = f"Ward {i + 1}"
    from predictions.areas.actions import do_upload_layer

    layer = do_upload_layer(published.alpha, name="Wards", file_name="wards.geojson",
                            data=json.dumps({"type": "FeatureCollection",
                                             "features": features}).encode(),
                            acting_user=published.anna)
    kwargs = dict(acting_user=published.anna, use_as_covariates=False, use_for_fairness=False,
                  population_attribute="", groupings=[], band=[0.8, 1.25],
                  use_as_reference=True)
    do_update_layer(layer, **kwargs)
    client = published.client_for("anonymous")
    url = reverse("public-api-places", args=["alpha"])
    assert {f["properties"]["name"] for f in client.get(url).json()["features"]} == set(
        NEIGHBOURHOOD_NAMES)
    do_update_layer(layer, **kwargs, name_field="ward")
    assert {f["properties"]["name"] for f in client.get(url).json()["features"]} == {
        f"Ward {i + 1}" for i in range(len(features))}
    search = reverse("public-api-search", args=["alpha"]) + "?q=ward 3"
    assert [f["name"] for f in client.get(search).json()["results"]] == ["Ward 3"]
