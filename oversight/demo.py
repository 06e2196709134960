"""The demo's 90 days of access history, so the oversight page shows what it is for.

Six officers of the demo agency read its forecasts on their shifts for 90 days, with the
purposes, patrol selections, sign-ins and addresses a real trail holds, and a few patterns the
board's flags should catch: one officer reading at night with a bare "other", a bulk export,
a removed member trying again and again. Every record goes through `audit.record` (the one
writer), in time order, with the seeded clock of `audit.recorder.history_clock`; the records
are chained and checkpointed like any other. Seeded once: a second run adds nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from agencies.models import Agency, Membership
from agencies.roles import Role
from audit.events import Action
from audit.models import AccessEvent, Outcome
from audit.recorder import history_clock, record
from predictions.models import Forecast

DAYS = 90
REQUEST_PREFIX = "demo-history-"
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
]


@dataclass(frozen=True)
class Officer:
    username: str
    role: Role
    shift_start: int  # local hour
    purposes: tuple[tuple[str, int], ...]  # (purpose code, weight)
    address: str
    night_reader: bool = False  # reads between 00:00 and 05:00 with a bare "other"


OFFICERS = [
    Officer("ofc.martinez", Role.VIEWER, 7, (("patrol_planning", 8), ("prevention", 2)),
            "10.20.1.14"),
    Officer("ofc.nguyen", Role.VIEWER, 15, (("patrol_planning", 6), ("prevention", 3)),
            "10.20.1.27"),
    Officer("sgt.okafor", Role.VIEWER, 7, (("patrol_planning", 5), ("evaluation", 2)),
            "10.20.2.3"),
    Officer("det.brooks", Role.ANALYST, 9, (("analysis", 6), ("oversight_request", 1)),
            "10.20.4.8"),
    Officer("ana.fischer", Role.ANALYST, 8, (("analysis", 5), ("evaluation", 3)),
            "10.20.4.19"),
    Officer("ofc.keller", Role.VIEWER, 21, (("patrol_planning", 5), ("other", 1)),
            "10.20.1.41", night_reader=True),
]
FORMER_MEMBER = "ofc.dunn"  # removed before the history starts; tries the forecast map


class Trail:
    """Collects the seeded records, then appends them in time order, each as from its own
    request (address, browser, request id)."""

    def __init__(self, agency: Agency):
        self.agency = agency
        self.zone = ZoneInfo(agency.timezone)
        self.n = 0
        self.at = datetime.now(UTC)
        self.pending: list[tuple[datetime, int, tuple, dict]] = []

    def add(self, when: datetime, source: tuple, **fields) -> None:
        """Queue a record; `source` is (user, address, browser)."""
        self.pending.append((when.astimezone(UTC), len(self.pending), source, fields))

    def flush(self) -> None:
        for when, _, (user, address, browser), fields in sorted(self.pending,
                                                               key=lambda p: p[:2]):
            request = HttpRequest()
            request.META.update(REMOTE_ADDR=address, HTTP_USER_AGENT=browser)
            request.user = user
            self.n += 1
            request.request_id = f"{REQUEST_PREFIX}{self.n:06d}"  # type: ignore[attr-defined]
            self.at = when
            with history_clock(lambda: self.at):
                record(request=request, **fields)
        self.pending.clear()

    def local(self, day: date, hour: float) -> datetime:
        return datetime.combine(day, time()).replace(tzinfo=self.zone) + timedelta(hours=hour)


def _forecast_fields(agency: Agency) -> tuple[str, dict]:
    forecast = Forecast.objects.filter(model__agency=agency).order_by("-window_start").first()
    if forecast is None:
        return "1", {"cells": 400}
    return str(forecast.pk), {"model": forecast.model.name,
                              "window_start": str(forecast.window_start),
                              "horizon_days": forecast.horizon_days, "cells": forecast.n_cells}


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _shift(trail: Trail, rng: random.Random, officer: Officer, user, day: date,
           forecast_id: str, forecast: dict) -> None:
    """One shift: sign in, state a purpose, open the map, look at a few cells, maybe export."""
    browser = BROWSERS[sum(map(ord, officer.username)) % len(BROWSERS)]
    hour = officer.shift_start + rng.uniform(0, 1.5)
    if officer.night_reader and rng.random() < 0.25:
        hour = 24 + rng.uniform(1, 3.5)  # after midnight
    when = trail.local(day, hour)
    common = {"actor": user, "actor_role": officer.role.value, "agency": trail.agency}
    source = (user, officer.address, browser)
    if rng.random() < 0.04:
        trail.add(when, source, action=Action.AUTH_LOGIN_FAILED, outcome=Outcome.DENIED,
                  details={"username": user.username})
        when += timedelta(seconds=40)
    trail.add(when, source, action=Action.AUTH_LOGIN,
              actor=user)
    purpose = _weighted(rng, officer.purposes)
    note = ""
    if purpose == "other" and not (officer.night_reader and when.hour < 5):
        note = "follow-up on a resident's complaint"
    elif purpose == "patrol_planning" and rng.random() < 0.3:
        note = rng.choice(["day shift, district 2", "night shift briefing", "district 4 roll call"])
    selection = "fair" if rng.random() < 0.2 else "plain"
    flagged = rng.choice([4, 4, 8, 8, 8, 20])
    read = {**common, "object_type": "forecast", "object_id": forecast_id, "purpose": purpose,
            "purpose_note": note}
    shown = {**forecast, "flagged": flagged, "selection": selection}
    when += timedelta(minutes=rng.uniform(1, 3))
    trail.add(when, source,
              action=Action.FORECAST_VIEW, details=shown, **read)
    trail.add(when + timedelta(seconds=2), source,
              action=Action.FORECAST_MAP_LAYER, details=shown, **read)
    for _ in range(rng.randint(0, 3)):
        when += timedelta(minutes=rng.uniform(0.5, 4))
        trail.add(when, source,
                  action=Action.FORECAST_CELL,
                  details={**forecast, "rank": rng.randint(1, flagged), "found": True}, **read)
    if officer.role == Role.ANALYST and rng.random() < 0.15:
        when += timedelta(minutes=rng.uniform(2, 10))
        trail.add(when, source,
                  action=Action.FORECAST_EXPORT,
                  details={**forecast, "cells": flagged, "format": "csv",
                           "flagged": flagged, "selection": selection}, **read)


def seed_access_history(agency_slug: str = "riverton", analyst=None, *,
                        today: date | None = None, seed: int = 2026) -> str:
    """Lay out the demo agency's last 90 days of forecast reads (once)."""
    agency = Agency.objects.get(slug=agency_slug)
    if AccessEvent.objects.filter(agency_id=agency.pk,
                                  request_id__startswith=REQUEST_PREFIX).exists():
        return f"{agency.name}: access history already seeded"
    rng = random.Random(seed)
    today = today or timezone.localdate()
    User = get_user_model()
    users = {}
    for officer in OFFICERS:
        user, created = User.objects.get_or_create(
            username=officer.username, defaults={"email": f"{officer.username}@example.org"})
        if created:
            user.set_unusable_password()  # a person of the story: no demo login
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(user=user, agency=agency,
                                         defaults={"role": officer.role})
        users[officer.username] = user
    former, _ = User.objects.get_or_create(username=FORMER_MEMBER,
                                           defaults={"email": f"{FORMER_MEMBER}@example.org"})
    forecast_id, forecast = _forecast_fields(agency)
    trail = Trail(agency)
    denied_day = today - timedelta(days=37)
    bulk_day = today - timedelta(days=12)
    with transaction.atomic():
        for back in range(DAYS, 0, -1):
            day = today - timedelta(days=back)
            for officer in OFFICERS:
                works = day.weekday() < 5 or officer.role == Role.VIEWER
                if works and rng.random() < 0.8:
                    _shift(trail, rng, officer, users[officer.username], day, forecast_id,
                           forecast)
            if day == denied_day:
                start = trail.local(day, 22.5)
                for i in range(6):
                    trail.add(start + timedelta(minutes=3 * i),
                              (former, "172.16.9.40", BROWSERS[0]),
                              action=Action.ACCESS_DENIED, agency=agency, actor=former,
                              outcome=Outcome.DENIED,
                              details={"path": f"/a/{agency.slug}/forecast/", "method": "GET",
                                       "status": 403, "reason": "not a member"})
            if day == bulk_day:
                brooks = users["det.brooks"]
                trail.add(trail.local(day, 18.2),
                          (brooks, "10.20.4.8", BROWSERS[1]),
                          action=Action.FORECAST_EXPORT, actor=brooks, actor_role="analyst",
                          agency=agency, object_type="forecast", object_id=forecast_id,
                          purpose="analysis", purpose_note="",
                          details={**forecast, "cells": 800, "format": "geojson",
                                   "flagged": 800, "selection": "plain"})
            trail.flush()
    return (f"{agency.name}: {trail.n} records of access history over the last {DAYS} days "
            f"({len(OFFICERS)} officers)")
