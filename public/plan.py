"""What publishing the public map will do for an agency, and what it costs, before it runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings

from agencies.models import Agency
from public import privacy
from public.models import PublicRelease
from public.publish import monthly_counts, months_due, publication_start, suggested_start


@dataclass(frozen=True)
class Plan:
    start: date | None  # the first month published (setting or suggestion)
    suggested: date | None  # where the data becomes steady
    first_data: date | None  # the oldest month with any countable incident
    stray: int  # countable incidents before `start` (never published)
    due: list[date]  # months in the range, publishable now, not yet released
    released: int
    epsilon_per_month: float
    total_budget: float
    spent: float
    schedule_hours: float
    delay_days: int

    @property
    def backlog_cost(self) -> float:
        return len(self.due) * self.epsilon_per_month

    @property
    def remaining(self) -> float:
        return max(self.total_budget - self.spent, 0.0)

    @property
    def affordable(self) -> int:
        """How many of the due months the remaining budget pays for."""
        return min(len(self.due), int(self.remaining / self.epsilon_per_month + 1e-9))

    @property
    def months_after_backlog(self) -> int:
        """New months the budget still pays for once the due ones are out (one a month)."""
        left = self.remaining - self.affordable * self.epsilon_per_month
        return int(left / self.epsilon_per_month + 1e-9)

    @property
    def years_after_backlog(self) -> float:
        return self.months_after_backlog / 12


def plan_for(agency: Agency, now: datetime | None = None) -> Plan:
    counts = monthly_counts(agency)
    start = publication_start(agency, counts)
    released = set(PublicRelease.objects.filter(agency=agency).values_list("month", flat=True))
    due = [m for m in months_due(agency, now, counts) if m not in released]
    return Plan(
        start=start, suggested=suggested_start(counts), first_data=min(counts) if counts else None,
        stray=sum(n for m, n in counts.items() if start is None or m < start),
        due=due, released=len(released),
        epsilon_per_month=float(settings.PUBLIC_EPSILON),
        total_budget=float(settings.PUBLIC_TOTAL_BUDGET), spent=privacy.spent(agency),
        schedule_hours=settings.CELERY_BEAT_SCHEDULE["publish-releases"]["schedule"] / 3600,
        delay_days=settings.PUBLIC_DELAY_DAYS,
    )
