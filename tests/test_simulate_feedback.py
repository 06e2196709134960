"""python manage.py simulate_feedback: the table, the chart file, the agency source, bad input."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import CommandError, call_command

from predictions.forecasting.feedback import simulate_feedback, synthetic_truth

SMALL = ["--cell-size", "300", "--rounds", "120", "--half-life", "30", "--warmup", "14"]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("simulate_feedback", *args, stdout=out)
    return out.getvalue()


def test_synthetic_run_prints_the_table_and_writes_the_chart(tmp_path):
    path = tmp_path / "loop.html"
    text = run(*SMALL, "--out", str(path))
    # the table: one line per milestone round and scenario, with the engine's own numbers
    expected = simulate_feedback(
        synthetic_truth(0, 300), coverage=0.05, rounds=120, half_life=30, warmup=14, seed=0
    )
    rows = re.findall(r"^\s*(\d+)\s{2}(.+?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", text, re.M)
    assert [int(r[0]) for r in rows] == [m for m in (1, 30, 60, 90, 120) for _ in range(3)]
    assert rows[-3][1].startswith("no correction") and rows[-2][1] == "reported incidents only"
    for (round_no, _, inflation, concentration, recall), name in zip(
        rows, ["none", "reported_only", "downweight"] * 5, strict=True
    ):
        r = int(round_no)
        assert float(inflation) == pytest.approx(expected.at(name, "inflation", r), abs=6e-4)
        assert float(concentration) == pytest.approx(
            expected.at(name, "concentration", r), abs=6e-4
        )
        assert float(recall) == pytest.approx(expected.at(name, "topk_recall", r), abs=6e-4)
    assert f"chart: {path}" in text
    assert "400 cells, 20 flagged per round" in text
    # the chart: a self-contained page with three panels of three lines
    html = path.read_text()
    assert (
        html.startswith("<!doctype html>")
        and "<script" not in html
        and "http" not in (html.replace("http://www.w3.org/2000/svg", ""))
    )
    assert html.count("<svg") == 1 and html.count("<polyline") >= 9
    assert "reported incidents only" in html and "inverse presence" in html


def test_json_shows_the_runaway_without_correction_only(tmp_path):
    data = json.loads(run(*SMALL, "--json", "--out", str(tmp_path / "c.svg")))
    final = {n: s["inflation"][-1] for n, s in data["scenarios"].items()}
    assert final["none"] > 1.2
    assert abs(final["reported_only"] - 1) < 0.1 and abs(final["downweight"] - 1) < 0.1
    assert data["k"] == 20 and len(data["scenarios"]["none"]["flagged"]) == 120
    assert data["config"]["report_prob"] == 0.5 and data["config"]["coverage"] == 0.05
    svg = (tmp_path / "c.svg").read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("<polyline") >= 9


@pytest.mark.django_db
def test_unknown_agency_is_refused(tmp_path):
    with pytest.raises(CommandError, match="No agency 'nope'"):
        run("--agency", "nope", "--out", str(tmp_path / "x.html"))
    assert not (tmp_path / "x.html").exists()


def test_agency_data_stands_in_for_the_truth(world, tmp_path):
    world.dataset  # noqa: B018 - three located incidents of agency alpha, in three cells
    path = tmp_path / "alpha.html"
    data = json.loads(run("--agency", "alpha", "--rounds", "20", "--json", "--out", str(path)))
    assert data["n_cells"] == 3 and data["k"] == 1
    assert data["truth"]["agency"] == "alpha"
    assert "Alpha Police" in data["truth"]["note"]
    assert "stands in for the truth" in data["truth"]["note"]
    assert "3 incidents over 3 days" in data["truth"]["note"]
    assert len(data["scenarios"]["none"]["inflation"]) == 20
    assert "Alpha Police" in path.read_text()
    text = run("--agency", "alpha", "--rounds", "20", "--out", str(path))
    assert "feedback loop on Alpha Police" in text and "stands in for the truth" in text


def test_agency_without_enough_data_is_refused(world, tmp_path):
    out = str(tmp_path / "x.html")
    with pytest.raises(CommandError, match="no usable incidents"):
        run("--agency", "bravo", "--out", out)
    world.dataset  # noqa: B018
    with pytest.raises(CommandError, match="at least 2 cells"):
        run("--agency", "alpha", "--category", "robbery", "--out", out)
    with pytest.raises(CommandError, match="no homicide incidents"):
        run("--agency", "alpha", "--category", "homicide", "--out", out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--coverage", "1.5"], r"coverage must be within \(0, 1\)"),
        (["--coverage", "0"], r"coverage must be within \(0, 1\)"),
        (["--report-rate", "0"], r"report_prob must be within \(0, 1\]"),
        (["--discovery-rate", "2"], r"discovery_prob must be within \[0, 1\]"),
        (["--rounds", "0"], "rounds must be an integer >= 1"),
        (["--cell-size", "10"], "cell_size must be within"),
        (["--category", "burglary"], "--category needs --agency"),
        (["--out", "chart.png"], "must end in .html or .svg"),
    ],
)
def test_bad_input_is_a_command_error(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CommandError, match=message):
        run(*args, *([] if "--out" in args else ["--out", "c.html"]))
    assert list(tmp_path.iterdir()) == []
