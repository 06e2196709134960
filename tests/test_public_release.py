"""Public releases: publication rules, differential-privacy noise and the budget ledger."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from public import privacy, serving
from public.models import BudgetEntry, PublicRelease
from public.publish import latest_publishable_month, months_due, publish_agency


def test_the_task_publishes_every_due_month_once(published):
    alpha = published.alpha
    months = list(PublicRelease.objects.filter(agency=alpha).values_list("month", flat=True))
    assert months == [date(2024, m, 1) for m in range(1, 6)]
    first = {r.pk: r.counts for r in PublicRelease.objects.filter(agency=alpha)}
    result = publish_agency(alpha.pk)  # again: nothing new, nothing redrawn
    assert result["released"] == 0 and result["already"] == 5
    assert {r.pk: r.counts for r in PublicRelease.objects.filter(agency=alpha)} == first
    assert BudgetEntry.objects.filter(agency=alpha).count() == 5


def test_every_cell_and_category_is_noised_and_sensitive_ones_are_city_only(published):
    release = PublicRelease.objects.filter(agency=published.alpha).first()
    assert "sexual_offence" not in release.counts
    assert set(release.city_counts) == {"sexual_offence"}
    # homicide has no incidents in the synthetic city: its published zeros must be noisy
    zeros = np.array(release.counts["homicide"])
    assert zeros.size == len(release.cells) > 50
    assert (zeros != 0).mean() > 0.2


def test_sensitive_categories_can_be_left_out_entirely(world, settings):
    settings.PUBLIC_SENSITIVE_LEVEL = "none"
    world.forecast  # noqa: B018
    world.alpha.publishes_public_map = True
    world.alpha.save()
    publish_agency(world.alpha.pk)
    release = PublicRelease.objects.filter(agency=world.alpha).first()
    assert release.city_counts == {} and "sexual_offence" not in release.counts


def test_noisy_counts_stay_close_to_the_true_ones(published):
    from predictions.models import Incident
    from public.publish import public_grid, true_table

    release = PublicRelease.objects.get(agency=published.alpha, month=date(2024, 2, 1))
    grid, active = public_grid(published.alpha)
    assert active.tolist() == release.cells
    cells, _ = true_table(published.alpha, release.month, grid, active)
    true_total = sum(int(v.sum()) for v in cells.values())
    assert true_total > 100
    assert Incident.objects.filter(agency=published.alpha).count() >= true_total
    noisy_total = sum(sum(v) for v in release.counts.values())
    sd = np.sqrt(privacy.geometric_variance(1.0) * sum(len(v) for v in release.counts.values()))
    assert abs(noisy_total - true_total) < 6 * sd


def test_the_noise_has_the_two_sided_geometric_distribution():
    """200 000 draws of OpenDP's discrete Laplace at ε = 0.5 and 1.0 against the theory.

    OpenDP draws from the OS CSPRNG and takes no seed (by design); the bounds are 6 standard
    errors wide, so a false failure has a probability below 1e-8."""
    n = 200_000
    for epsilon in (0.5, 1.0):
        draws = privacy.add_noise(np.zeros(n, np.int64), epsilon)
        var = privacy.geometric_variance(epsilon)
        a = np.exp(-epsilon)
        p0 = (1 - a) / (1 + a)
        assert abs(draws.mean()) < 6 * np.sqrt(var / n)
        # variance of X^2 for the two-sided geometric: E[X^4] - var^2
        ex4 = 2 * (1 - a) / (1 + a) * sum(k**4 * a**k for k in range(1, 400))
        assert abs(draws.var() - var) < 6 * np.sqrt((ex4 - var**2) / n)
        assert abs((draws == 0).mean() - p0) < 6 * np.sqrt(p0 * (1 - p0) / n)
        for k in (2, 4):
            tail = privacy.geometric_tail(epsilon, k)
            assert abs((np.abs(draws) >= k).mean() - tail) < 6 * np.sqrt(tail * (1 - tail) / n)
        # symmetric
        assert abs((draws > 0).mean() - (draws < 0).mean()) < 6 * np.sqrt(1 / n)


def test_the_mechanism_is_calibrated_to_epsilon():
    for epsilon in (0.1, 1.0, 2.5):
        assert privacy.measurement(epsilon).map(1) == pytest.approx(epsilon)


def test_the_ledger_refuses_an_over_budget_release(world, settings):
    settings.PUBLIC_TOTAL_BUDGET = 3.5
    world.forecast  # noqa: B018
    world.alpha.publishes_public_map = True
    world.alpha.save()
    result = publish_agency(world.alpha.pk)
    assert result["released"] == 3 and result["refused"] == 1
    assert PublicRelease.objects.filter(agency=world.alpha).count() == 3
    ledger = list(BudgetEntry.objects.filter(agency=world.alpha))
    assert [e.spent_before for e in ledger] == [0.0, 1.0, 2.0]
    assert all(e.release_id for e in ledger)
    assert privacy.spent(world.alpha) == 3.0


def test_months_inside_the_delay_are_not_released(world, settings):
    from datetime import UTC, datetime

    world.forecast  # noqa: B018
    world.alpha.publishes_public_map = True
    world.alpha.save()
    now = datetime(2024, 4, 15, tzinfo=UTC)  # March ended 15 days ago: inside the delay
    assert latest_publishable_month(world.alpha, now) == date(2024, 2, 1)
    assert months_due(world.alpha, now) == [date(2024, 1, 1), date(2024, 2, 1)]
    settings.PUBLIC_DELAY_DAYS = 10
    assert latest_publishable_month(world.alpha, now) == date(2024, 3, 1)


def test_agencies_that_do_not_opt_in_publish_nothing(world):
    world.forecast  # noqa: B018
    assert publish_agency(world.alpha.pk)["skipped"]
    assert not PublicRelease.objects.exists()


def test_the_command_runs_the_task(world, capsys):
    world.forecast  # noqa: B018
    world.alpha.publishes_public_map = True
    world.alpha.save()
    call_command("publish_releases", "--agency", "alpha")
    assert '"released": 5' in capsys.readouterr().out
    assert PublicRelease.objects.filter(agency=world.alpha).count() == 5


def test_repeated_requests_see_the_same_numbers(published):
    client = published.client_for("anonymous")
    url = reverse("public-api-map", args=["alpha"]) + "?category=theft&from=2024-02&to=2024-02"
    first = client.get(url).json()
    assert client.get(url).json() == first  # from the cache
    cache.clear()
    serving._bundles.clear()  # rebuilt from the stored releases: the noise is never redrawn
    second = client.get(url).json()
    assert first == second
    release = PublicRelease.objects.get(agency=published.alpha, month=date(2024, 2, 1))
    assert [f["properties"]["value"] for f in first["features"]] == release.counts["theft"]


def residuals_and_charges(alpha):
    """Published minus true value of every noised cell entry, and the ε charged per month."""
    from public.models import BudgetEntry
    from public.publish import public_grid, true_table

    grid, active = public_grid(alpha)
    residuals = []
    for release in PublicRelease.objects.filter(agency=alpha):
        cells, _city = true_table(alpha, release.month, grid, active)
        for category, noisy in release.counts.items():
            residuals.append(np.array(noisy) - cells[category])
    charged = set(BudgetEntry.objects.filter(agency=alpha).values_list("epsilon", flat=True))
    return np.concatenate(residuals), charged


def test_the_published_noise_has_the_scale_of_the_charged_epsilon(world, settings):
    """The spread of (published - true) over every cell entry of five released months is the
    discrete Laplace variance at the ε the ledger charged, within 6 standard errors; the band
    is narrow enough to exclude noise drawn at twice or half that ε."""
    settings.PUBLIC_EPSILON = 0.5
    world.forecast  # noqa: B018
    world.alpha.publishes_public_map = True
    world.alpha.save(update_fields=["publishes_public_map"])
    publish_agency(world.alpha.pk)
    residuals, charged = residuals_and_charges(world.alpha)
    assert charged == {0.5}
    n = residuals.size
    assert n > 2000
    a = np.exp(-0.5)
    var = privacy.geometric_variance(0.5)
    ex4 = 2 * (1 - a) / (1 + a) * sum(k**4 * a**k for k in range(1, 600))
    band = 6 * np.sqrt((ex4 - var**2) / n)
    assert abs(residuals.var() - var) < band
    assert abs(residuals.mean()) < 6 * np.sqrt(var / n)
    for other in (0.25, 1.0):  # the test can tell these apart
        assert abs(privacy.geometric_variance(other) - var) > 2 * band


def test_every_published_value_comes_from_noise_at_the_charged_epsilon(world, monkeypatch):
    """Cell counts and city-wide (sensitive) counts alike: each published value is the output
    of the mechanism run on the true value at the ε the ledger charged for its month."""
    from public import publish
    from public.models import BudgetEntry

    calls = []
    real = privacy.add_noise

    def spy(counts, epsilon):
        noisy = real(counts, epsilon)
        calls.append((np.asarray(counts).tolist(), epsilon, np.asarray(noisy).tolist()))
        return noisy

    monkeypatch.setattr(publish.privacy, "add_noise", spy)
    world.forecast  # noqa: B018
    world.alpha.publishes_public_map = True
    world.alpha.save(update_fields=["publishes_public_map"])
    publish_agency(world.alpha.pk)
    grid, active = publish.public_grid(world.alpha)
    releases = list(PublicRelease.objects.filter(agency=world.alpha))
    assert releases and all(r.city_counts for r in releases)
    for release in releases:
        charged = BudgetEntry.objects.get(release=release).epsilon
        cells, city = publish.true_table(world.alpha, release.month, grid, active)
        published_cells = [release.counts[c] for c in cells]
        published_city = [release.city_counts[c] for c in city]
        for true, published in ((np.stack([cells[c] for c in cells]).tolist(), published_cells),
                                ([city[c] for c in city], published_city)):
            assert (true, charged, published) in calls
