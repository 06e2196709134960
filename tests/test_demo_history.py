"""The demo's 90 days of access history: realistic, chained, caught by the board's flags."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from agencies.demo import seed_demo
from audit.models import AccessEvent
from audit.verification import verify_chain
from oversight.demo import DAYS, OFFICERS, seed_access_history

TODAY = date(2026, 3, 1)


@pytest.fixture
def history(db):
    seed_demo(password="demo-pass-123")
    seed_access_history(today=TODAY)
    return AccessEvent.objects.filter(agency_slug="riverton", request_id__startswith="demo-")


def test_it_spans_ninety_days_before_today(history):
    days = {e.at.date() for e in history.only("at")}
    assert min(days) <= TODAY - timedelta(days=DAYS - 1)
    assert max(days) <= TODAY
    assert len(days) >= 85


def test_it_holds_several_officers_purposes_and_selections(history):
    reads = history.filter(action="forecast.view")
    assert set(reads.values_list("actor_name", flat=True)) == {o.username for o in OFFICERS}
    assert len(set(reads.values_list("purpose", flat=True))) >= 5
    assert {r.details["selection"] for r in reads} == {"plain", "fair"}
    assert history.exclude(source_ip="").count() == history.count()


def test_its_records_are_in_time_order_and_the_chain_holds(history):
    times = list(history.order_by("seq").values_list("at", flat=True))
    assert times == sorted(times)
    assert verify_chain().ok


def test_the_boards_flags_catch_its_patterns(history):
    summary = seed_board_view()
    kinds = {flag.kind for flag in summary.flags}
    assert {"unusual-hours", "bare-purpose", "bulk-export", "denied"} <= kinds
    assert any("ofc.dunn: 6 denied" in flag.text for flag in summary.flags)


def seed_board_view():
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="board-member"))
    return client.get(reverse("oversight-home")).context["summary"]


def test_it_is_seeded_once(history):
    n = AccessEvent.objects.count()
    assert "already" in seed_access_history(today=TODAY)
    assert AccessEvent.objects.count() == n


def test_records_outside_the_seeding_get_the_wall_clock(history):
    from django.utils import timezone

    import audit

    event = audit.record(action="audit.view", actor=None, actor_role="system")
    assert abs((event.at - timezone.now()).total_seconds()) < 60
