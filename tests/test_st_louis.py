"""St. Louis loaded as a real agency from ../shared/data, once however often it is run."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from agencies.models import Membership
from predictions.models import AreaLayer, Incident

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(not (DATA / "stl").exists(),
                                reason="needs ../shared/data (St. Louis)")


def run(*args) -> str:
    out = StringIO()
    call_command("load_st_louis", "--data", str(DATA), *args, stdout=out)
    return out.getvalue()


def test_it_loads_the_city_with_its_layers_and_an_admin_once(db):
    first = run("--admin", "stl-admin")
    assert "neighborhoods are the reference layer" in first
    assert "tracts are the fairness layer" in first and "password:" in first
    incidents = Incident.objects.filter(agency__slug="st-louis").count()
    assert incidents > 230_000
    reference = AreaLayer.objects.get(agency__slug="st-louis", use_as_reference=True)
    assert (reference.name, reference.n_features) == ("Neighborhoods", 88)
    fairness = AreaLayer.objects.get(agency__slug="st-louis", use_for_fairness=True)
    assert fairness.population_attribute == "total_pop" and fairness.groupings
    assert Membership.objects.get(user__username="stl-admin").role == "admin"
    again = run("--admin", "stl-admin")
    assert "incidents kept" in again and "password:" not in again
    assert Incident.objects.filter(agency__slug="st-louis").count() == incidents
    assert AreaLayer.objects.filter(agency__slug="st-louis").count() == 2
