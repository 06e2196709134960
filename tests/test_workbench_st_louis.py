"""The workbench's count-forecast intervals hold as often as they say on real data: St. Louis
2019, weekly counts per police district and per neighbourhood, rolling origins through the
year, 4 weeks ahead; pooled coverage within 5 points of 80 % and of 95 %."""

from pathlib import Path

import pytest

from predictions.research.workbench_coverage import coverage_2019, weekly_counts

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
pytestmark = pytest.mark.skipif(not (DATA / "stl").exists(),
                                reason="needs ../shared/data (St. Louis)")


@pytest.mark.parametrize("by, step", [("district", 1), ("neighborhood", 3)])
def test_its_intervals_held_about_as_often_as_they_said_in_2019(by, step):
    starts, names, counts = weekly_counts(DATA, by)
    assert len(names) == {"district": 6, "neighborhood": 88}[by]
    report = coverage_2019(starts, counts, step=step, draws=1000)
    assert report["origins"] >= 16
    for level, nominal in (("80%", 0.80), ("95%", 0.95)):
        assert abs(report[level]["pooled"] - nominal) <= 0.05, report
