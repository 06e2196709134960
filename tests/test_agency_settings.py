"""Agency settings page: validated, all or nothing."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

SQUARE = {"type": "Polygon", "coordinates": [[[-90.3, 38.6], [-90.2, 38.6], [-90.2, 38.7],
                                               [-90.3, 38.7], [-90.3, 38.6]]]}


def post_settings(world, **overrides):
    data = {"name": "Alpha Police", "timezone": "America/Chicago", "cell_size_m": 150,
            "publishes_public_map": "", **overrides}
    return world.client_for("alice").post(reverse("agency-settings", args=["alpha"]), data)


def geojson_file(value, name="boundary.geojson"):
    return SimpleUploadedFile(name, json.dumps(value).encode(), "application/geo+json")


def test_it_saves_settings_and_a_boundary(world):
    feature = {"type": "Feature", "properties": {}, "geometry": SQUARE}
    response = post_settings(world, cell_size_m=250, boundary_file=geojson_file(feature))
    assert response.status_code == 302
    world.alpha.refresh_from_db()
    assert world.alpha.cell_size_m == 250
    assert world.alpha.boundary == SQUARE


def test_it_refuses_a_cell_size_out_of_range(world):
    response = post_settings(world, cell_size_m=20)
    assert response.status_code == 400
    world.alpha.refresh_from_db()
    assert world.alpha.cell_size_m == 150


def test_it_refuses_an_unknown_timezone(world):
    assert post_settings(world, timezone="Mars/Olympus").status_code == 400


def test_it_refuses_a_boundary_that_is_not_a_polygon(world):
    point = {"type": "Point", "coordinates": [-90.2, 38.6]}
    response = post_settings(world, name="Renamed", boundary_file=geojson_file(point))
    assert response.status_code == 400
    world.alpha.refresh_from_db()
    assert world.alpha.name == "Alpha Police"  # nothing half-saved
    assert world.alpha.boundary is None


def test_it_refuses_projected_coordinates(world):
    feet = {"type": "Polygon", "coordinates": [[[880000, 1010000], [890000, 1010000],
                                                [890000, 1020000], [880000, 1010000]]]}
    response = post_settings(world, boundary_file=geojson_file(feet))
    assert response.status_code == 400
    assert "not a WGS84" in response.content.decode()


def test_it_refuses_a_file_that_is_not_json(world):
    bad = SimpleUploadedFile("b.geojson", b"\x00\x01 not json", "application/geo+json")
    response = post_settings(world, boundary_file=bad)
    assert response.status_code == 400
    assert "not valid GeoJSON" in response.content.decode()


def test_it_clears_the_boundary(world):
    world.alpha.boundary = SQUARE
    world.alpha.save()
    post_settings(world, clear_boundary="on")
    world.alpha.refresh_from_db()
    assert world.alpha.boundary is None
