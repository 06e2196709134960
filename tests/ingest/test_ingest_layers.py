"""Area layer files (issue #19): every geometry checked, a refusal names the feature and what
is wrong, invalid polygons repaired and reported, limits on features, vertices and nesting;
short text columns kept as candidate name fields (issue #17). No Django here."""

from __future__ import annotations

import io
import json
import math
import zipfile

import pytest
import shapefile
from ingest_helpers import DATA, need

from predictions.ingest import layers
from predictions.ingest.errors import IngestRefused
from predictions.ingest.layers import read_layer

SQUARE = [[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]
NEIGHBOURHOODS = DATA / "stl" / "geo" / "stl_neighborhoods.geojson"
TRACTS = DATA / "stl" / "geo" / "stl_tracts_demographics.geojson"


def collection(*geometries, props=None, raw: bool = False) -> bytes:
    """A FeatureCollection of one feature per geometry (lon/lat around St. Louis)."""
    features = [{"type": "Feature", "properties": props or {"name": f"Area {i + 1}"},
                 "geometry": g} for i, g in enumerate(geometries)]
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, allow_nan=True).encode()


def square(x: float = -90.3, y: float = 38.6, size: float = 0.01) -> dict:
    ring = [[x + dx * size, y + dy * size] for dx, dy in SQUARE]
    return {"type": "Polygon", "coordinates": [ring]}


def refused(data: bytes, name: str = "layer.geojson") -> str:
    with pytest.raises(IngestRefused) as info:
        read_layer(name, data)
    return str(info.value)


# refusals, each naming the feature and what is wrong ------------------------------------------
@pytest.mark.parametrize("bad, words", [
    (float("nan"), "feature 2: ring 1: position 3 is not a finite number pair ([-90.29, nan])"),
    (float("inf"), "feature 2: ring 1: position 3 is not a finite number pair ([-90.29, inf])"),
])
def test_it_refuses_coordinates_that_are_not_finite(bad, words):
    poly = square()
    poly["coordinates"][0][2] = [-90.29, bad]
    assert words in refused(collection(square(), poly))


def test_it_refuses_nan_written_as_a_json_literal_in_a_point():
    data = (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},'
            b' "geometry": {"type": "Point", "coordinates": [NaN, 38.6]}}]}')
    assert "feature 1: the point: position 1 is not a finite number pair" in refused(data)


def test_it_refuses_coordinates_out_of_range_after_conversion():
    message = refused(collection(square(), square(x=190)))
    assert "feature 2: its coordinates are not longitude/latitude after conversion from " \
           "EPSG:4326 ([190, 38.6])" in message
    projected = json.loads(collection(square()))
    projected["crs"] = {"type": "name", "properties": {"name": "EPSG:32615"}}
    projected["features"][0]["geometry"] = square(x=1e12, y=1e12)  # far off any UTM zone
    assert "feature 1: its coordinates are not longitude/latitude" in refused(
        json.dumps(projected).encode())


def test_it_refuses_deeply_nested_json_without_a_recursion_error():
    deep = b'{"type": "FeatureCollection", "features": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    message = refused(deep)
    assert "nested 200,001 levels deep" in message and "at most 20" in message
    # brackets inside strings are text, not nesting
    text = collection(square(), props={"name": "[[[[" * 30})
    assert read_layer("t.geojson", text).labels == ["[[[[" * 30]


def test_it_refuses_arrays_nested_beyond_what_the_geometry_type_needs():
    too_deep = {"type": "Polygon", "coordinates": [[[[-90.3, 38.6]] * 5]]}
    assert "feature 1: ring 1 is not a list of [x, y] number positions" in refused(
        collection(too_deep))
    multi = {"type": "MultiPolygon", "coordinates": [square()["coordinates"], [[1, 2]]]}
    assert "feature 1: polygon 2, ring 1 is not a list of [x, y] number positions" in refused(
        collection(multi))
    text = {"type": "Point", "coordinates": ["-90.3", "38.6"]}
    assert "feature 1: the point is not a list of [x, y] number positions" in refused(
        collection(text))


def test_it_refuses_unclosed_rings_and_rings_of_fewer_than_four_positions():
    open_ring = square()
    open_ring["coordinates"][0] = open_ring["coordinates"][0][:-1]
    message = refused(collection(square(), square(), open_ring))
    assert "feature 3: ring 1 is not closed: its first position [-90.3, 38.6] differs from " \
           "its last [-90.29, 38.6]" in message
    holed = square()
    holed["coordinates"].append([[-90.299, 38.601], [-90.298, 38.601], [-90.299, 38.601]])
    assert "feature 1: ring 2 has 3 positions; a ring needs at least 4" in refused(
        collection(holed))


def test_it_repairs_self_intersections_and_says_which_features():
    bowtie = {"type": "Polygon", "coordinates": [[[-90.3, 38.6], [-90.29, 38.61],
                                                  [-90.29, 38.6], [-90.3, 38.61],
                                                  [-90.3, 38.6]]]}
    parsed = read_layer("t.geojson", collection(square(), bowtie, square(), bowtie))
    assert parsed.repairs == [(2, "self-intersection"), (4, "self-intersection")]
    assert parsed.repair_summary() == "2 features repaired: self-intersection (features 2, 4)"
    assert all(g.is_valid and g.area > 0 for g in parsed.geometries)
    assert parsed.geometries[1].geom_type == "MultiPolygon"  # the two triangles of the bow
    assert read_layer("t.geojson", collection(square())).repair_summary() == ""


def test_it_refuses_a_polygon_left_without_area_by_its_repair():
    flat = {"type": "Polygon", "coordinates": [[[-90.5, 38.5], [-90.25, 38.75],  # on a line
                                                [-90.0, 39.0], [-90.5, 38.5]]]}
    assert "feature 2: the polygon is invalid (self-intersection) and has no area once " \
           "repaired" in refused(collection(square(), flat))


@pytest.mark.parametrize("feature, words", [
    ({"type": "Feature", "properties": {}, "geometry": None}, "feature 1: it has no geometry"),
    ({"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates":
                                                        [[0, 0], [1, 1]]}},
     "feature 1: its geometry is a LineString; a layer holds only polygons or only points"),
    ({"type": "Feature", "properties": [1, 2], "geometry": square()},
     "feature 1: its properties are not an object"),
    ([1, 2, 3], "feature 1 is not a GeoJSON Feature"),
    ({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": []}},
     "feature 1: the polygon has no rings"),
])
def test_it_refuses_features_that_are_not_polygons_or_points(feature, words):
    data = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    assert words in refused(data)


def test_it_refuses_a_layer_mixing_points_and_polygons_naming_the_features():
    point = {"type": "Point", "coordinates": [-90.3, 38.6]}
    assert "only polygons or only points, found Point, Polygon (features 1 and 3)" in refused(
        collection(square(), square(), point))


@pytest.mark.parametrize("data, words", [
    (b'{"type": "FeatureCollection", "features": {"a": 1}}', "features are not a list"),
    (b'{"type": "FeatureCollection", "features": [{"properties": {"n": ' + b"9" * 5000
     + b'}}]}', "not a GeoJSON file"),
    (b"\xff\xfe{}", "not a GeoJSON file"),
    (b"[]", "must be a FeatureCollection"),
])
def test_it_refuses_documents_that_are_not_feature_collections(data, words):
    assert words in refused(data)


def test_it_limits_features_and_vertices(monkeypatch):
    monkeypatch.setattr(layers, "MAX_FEATURES", 2)
    assert "3 features, over the 2 limit" in refused(collection(square(), square(), square()))
    monkeypatch.setattr(layers, "MAX_FEATURES", 50_000)
    monkeypatch.setattr(layers, "MAX_VERTICES", 12)
    assert "over 12 vertices (the limit) by feature 3" in refused(
        collection(square(), square(), square()))
    # and far too many positions are refused before the JSON is even parsed
    many = collection(*[{"type": "Point", "coordinates": [-90.3, 38.6]}] * 40)
    assert "about 40 positions, over the 12 vertex limit" in refused(many)
    assert read_layer("t.geojson", collection(square(), square())).n_vertices == 10


# shapefiles -------------------------------------------------------------------------------------
def shapefile_zip(write) -> bytes:
    shp, shx, dbf = io.BytesIO(), io.BytesIO(), io.BytesIO()
    with shapefile.Writer(shp=shp, shx=shx, dbf=dbf, shapeType=shapefile.POLYGON) as w:
        w.field("NAME", "C")
        w.field("POP", "N", decimal=0)
        write(w)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.shp", shp.getvalue())
        z.writestr("a.shx", shx.getvalue())
        z.writestr("a.dbf", dbf.getvalue())
        z.writestr("a.prj", 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,'
                   '298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]')
    return out.getvalue()


def test_shapefiles_get_the_same_checks():
    ring = [[-90.3, 38.6], [-90.3, 38.61], [-90.29, 38.61], [-90.29, 38.6], [-90.3, 38.6]]

    def null_shape(w):
        w.poly([ring])
        w.record("A", 1)
        w.null()
        w.record("B", 2)

    assert "shape 2 has no geometry (a null shape)" in refused(shapefile_zip(null_shape),
                                                               "a.zip")

    def nan_shape(w):
        w.poly([ring[:2] + [[-90.29, math.nan]] + ring[3:]])
        w.record("A", 1)

    assert "shape 1: ring 1: position 3 is not a finite number pair" in refused(
        shapefile_zip(nan_shape), "a.zip")

    def bowtie(w):
        w.poly([ring])
        w.record("A", 1)
        w.poly([[[-90.3, 38.6], [-90.29, 38.61], [-90.29, 38.6], [-90.3, 38.61],
                 [-90.3, 38.6]]])
        w.record("B", 2)

    parsed = read_layer("a.zip", shapefile_zip(bowtie))
    assert parsed.repairs and parsed.repairs[0][0] == 2 and parsed.labels == ["A", "B"]


# candidate name fields --------------------------------------------------------------------------
def test_short_text_columns_are_kept_as_candidate_name_fields(monkeypatch):
    monkeypatch.setattr(layers, "MAX_TEXT_FIELDS", 3)
    props = [{"NAME": "North", "CODE": "N1", "KIND": "ward", "NOTE": "x" * 201, "POP": 5,
              "ALT": "Nord", "FLAG": True},
             {"NAME": "South", "CODE": "S1", "KIND": "ward", "NOTE": "short", "POP": 6,
              "ALT": None, "FLAG": False}]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": p, "geometry": square(x=-90.3 + i * 0.02)}
        for i, p in enumerate(props)]}
    parsed = read_layer("t.geojson", json.dumps(doc).encode())
    # the usual name column first, then the most distinct; too long, boolean and numeric
    # columns are not names; three at most here
    assert list(parsed.texts) == ["NAME", "CODE", "ALT"]
    assert parsed.label_field == "NAME" and parsed.labels == ["North", "South"]
    assert parsed.texts["ALT"] == ["Nord", None]
    summary = {f["name"]: f for f in parsed.text_summary()}
    assert summary["ALT"] == {"name": "ALT", "distinct": 1, "missing": 1, "example": "Nord"}
    stored = parsed.feature_collection()["features"]
    assert stored[0]["properties"]["names"] == {"NAME": "North", "CODE": "N1", "ALT": "Nord"}
    assert stored[1]["properties"]["names"] == {"NAME": "South", "CODE": "S1"}
    assert stored[0]["properties"]["label"] == "North" and stored[0]["properties"]["POP"] == 5


def test_a_layer_without_a_name_column_is_numbered():
    parsed = read_layer("t.geojson", collection(square(), square(), props={"POP": 1}))
    assert parsed.labels == ["#1", "#2"] and parsed.label_field == "" and parsed.texts == {}


# real files -------------------------------------------------------------------------------------
@pytest.mark.parametrize("path, features, label", [
    (NEIGHBOURHOODS, 88, "NHD_NAME"), (TRACTS, 106, "NAMELSAD")])
def test_the_st_louis_layers_read_as_before(path, features, label):
    seen: list[int] = []
    parsed = read_layer(path.name, need(path).read_bytes(), progress=seen.append)
    assert parsed.kind == "polygons" and len(parsed.geometries) == features
    assert parsed.label_field == label and all(parsed.labels)
    assert label in parsed.texts and seen == sorted(seen) and seen[-1] < 100
    assert all(g.is_valid for g in parsed.geometries)
    assert json.loads(parsed.geojson_text()) == json.loads(json.dumps(
        parsed.feature_collection()))  # the fast writer stores what the plain one would


def test_the_fast_writer_matches_the_plain_one_for_repaired_and_point_layers():
    bowtie = {"type": "Polygon", "coordinates": [[[-90.3, 38.6], [-90.29, 38.61],
                                                  [-90.29, 38.6], [-90.3, 38.61],
                                                  [-90.3, 38.6]]]}
    for data in (collection(square(), bowtie, props={"name": "A", "n": float("nan")}),
                 collection({"type": "MultiPoint", "coordinates": [[-90.3, 38.6],
                                                                   [-90.2, 38.7]]})):
        parsed = read_layer("t.geojson", data)
        assert json.loads(parsed.geojson_text()) == json.loads(json.dumps(
            parsed.feature_collection()))
