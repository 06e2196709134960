"""No import circles: between modules, between the project's packages, between the rooms of
``predictions``. Imports inside functions count; ``if TYPE_CHECKING:`` ones do not."""

from pathlib import Path

import pytest

from common.import_graph import cycles, graph, imports_of, package_edges, project_modules

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def edges():
    return graph(ROOT)


def test_it_finds_no_cycle_between_modules(edges):
    assert cycles(edges) == []


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_it_finds_no_cycle_between_packages(edges, depth):
    assert cycles(package_edges(edges, depth)) == []


def test_the_engine_and_the_parsers_import_no_django(edges):
    framework_free = [m for m in edges if m.startswith(
        ("predictions.forecasting", "predictions.ingest", "predictions.taxonomy"))]
    assert framework_free
    for module in framework_free:
        path = project_modules(ROOT)[module]
        assert "django" not in path.read_text(), module


def test_audit_and_agencies_never_import_predictions(edges):
    for module, targets in edges.items():
        if module.startswith(("audit", "agencies")):
            assert not [t for t in targets if t.startswith(("predictions", "public"))], module


def test_it_sees_a_cycle_through_an_import_inside_a_function(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import thing\n")
    (package / "b.py").write_text("def thing():\n    from pkg import a\n    return a\n")
    (package / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n")
    modules = project_modules(tmp_path, ["pkg"])
    found = {name: imports_of(name, path, modules) for name, path in modules.items()}
    assert cycles(found) == [["pkg.a", "pkg.b"]]
    assert found["pkg.c"] == set()  # a type-only import is no circle
