"""manage.py backtest: the models page's codes (baseline variants too), a table and JSON."""

import json

import pytest
from django.core.management import CommandError, call_command

from predictions.forecasting.baselines import LONG_MEMORY_KDE


def test_it_backtests_page_codes_on_an_agencys_incidents(world, tmp_path, capsys):
    world.forecast  # noqa: B018 - agency A's synthetic incidents, until 2024-05-29
    out = tmp_path / "bt.json"
    call_command("backtest", "--agency", "alpha", "--category", "burglary", "--cell-size",
                 "300", "--start", "2024-05-01", "--end", "2024-05-29",
                 "--methods", "uniform,kde_long", "--json", str(out))
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split()[0] == "method"
    assert {line.split()[0] for line in printed.splitlines()[1:4]} == {
        "uniform", "kde_long", "oracle"}
    assert "4 windows" in printed
    data = json.loads(out.read_text())
    assert data["config"]["methods"]["kde_long"] == {"method": "kde", **LONG_MEMORY_KDE}
    assert set(data["methods"]) == {"uniform", "kde_long", "oracle"}


def test_an_unknown_method_is_a_clear_error(world):
    with pytest.raises(CommandError, match="unknown methods \\['crystal_ball'\\]"):
        call_command("backtest", "--agency", "alpha", "--category", "burglary",
                     "--start", "2024-05-01", "--end", "2024-05-29",
                     "--methods", "crystal_ball")
