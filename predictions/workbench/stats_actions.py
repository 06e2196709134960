"""State changes of the workbench's statistics: asking for a near-repeat analysis or a
CompStat report, each with its audit record in the same transaction and its task queued once
the transaction commits."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from agencies.models import Agency
from agencies.recording import record_action
from audit.events import Action
from predictions.models import CompStatReport, KnoxRun
from predictions.workbench.compstat import CompStatRefused
from predictions.workbench.compstat_tasks import compstat_report
from predictions.workbench.knox import check_request
from predictions.workbench.knox_tasks import knox_test


@transaction.atomic
def do_start_knox(agency: Agency, *, category: str, start: date, end: date,
                  distance_bands: list[float], time_bands: list[float], permutations: int,
                  seed: int, acting_user) -> KnoxRun:
    """Create a near-repeat analysis and queue it once the transaction commits."""
    check_request(category=category, start=start, end=end, distance_bands=distance_bands,
                  time_bands=time_bands, permutations=permutations)
    run = KnoxRun.objects.create(
        agency=agency, category=category, start=start, end=end,
        distance_bands=list(distance_bands), time_bands=list(time_bands),
        permutations=permutations, seed=seed, requested_by=acting_user)
    record_action(Action.KNOX_START, acting_user=acting_user, agency=agency,
                  object_type="knox_run", object_id=run.pk,
                  details={"category": category, "start": str(start), "end": str(end),
                           "permutations": permutations, "seed": seed})
    transaction.on_commit(lambda: knox_test.delay(run.pk))
    return run


@transaction.atomic
def do_request_compstat(agency: Agency, *, week_start: date, acting_user) -> CompStatReport:
    """An analyst's report of the week starting `week_start` (a Monday), queued."""
    if week_start.weekday() != 0:
        raise CompStatRefused("A CompStat week starts on a Monday.")
    today = timezone.now().astimezone(ZoneInfo(agency.timezone)).date()
    if week_start > today:
        raise CompStatRefused("That week has not started yet.")
    report = CompStatReport.objects.create(agency=agency, week_start=week_start,
                                           requested_by=acting_user)
    record_action(Action.COMPSTAT_REQUEST, acting_user=acting_user, agency=agency,
                  object_type="compstat_report", object_id=report.pk,
                  details={"week_start": str(week_start)})
    transaction.on_commit(lambda: compstat_report.delay(report.pk))
    return report
