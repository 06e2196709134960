"""Background jobs' rows (imports, training runs): claiming, heartbeats and resuming.

Every task run first *claims* its row (`claim`): a committed step that marks it running as
a new attempt, so that pages show it. While the attempt runs, a thread of its process
touches the row's ``heartbeat_at`` every ``JOB_HEARTBEAT_SECONDS``. A worker that dies
(killed, out of memory, its host restarted) stops beating; the broker would give its
unacknowledged task back only after the visibility timeout (an hour by default), so a beat
task (`requeue_stalled`, every ``JOB_REQUEUE_SECONDS``) re-sends the task of every running
row silent for ``JOB_HEARTBEAT_STALE_SECONDS`` and marks it interrupted; its next claim
resumes it. The tasks are idempotent, and `claim` lets exactly one delivery run an attempt:
a row that is running, beating and not interrupted belongs to a live attempt, and any other
delivery (the broker's late redelivery, a second re-send) finds nothing to do. The third
interrupted attempt is not re-sent: the row is marked failed with the reason.

An attempt that was only slow to beat (not dead) and beats again after being re-sent clears
the interruption, so that the re-sent task finds it live and does nothing; if the re-sent
task claimed it first, both run to the same end (an import's lock sends the second one
back to retry until the first is done).

Heartbeats need a broker: tasks that run in-process (no broker, the test suite) cannot lose
their worker, and nothing would re-send them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import Error, connections, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

log = logging.getLogger(__name__)

INTERRUPTED = "Interrupted, resuming"


def beats_enabled() -> bool:
    """Whether claimed jobs beat here: a real broker and ``JOB_HEARTBEAT_SECONDS`` > 0."""
    return settings.JOB_HEARTBEAT_SECONDS > 0 and not current_app.conf.task_always_eager


def _stale_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(seconds=settings.JOB_HEARTBEAT_STALE_SECONDS)


def last_sign_of_life(job: Model) -> datetime | None:
    return job.heartbeat_at or job.started_at  # type: ignore[attr-defined]


def is_interrupted(job: Model) -> bool:
    """A running job whose attempt stopped beating, or which was re-queued: its worker was
    lost and the job is about to resume (what its page says)."""
    running = type(job).Status.RUNNING  # type: ignore[attr-defined]
    if settings.JOB_HEARTBEAT_SECONDS <= 0 or job.status != running:  # type: ignore[attr-defined]
        return False
    if job.interrupted_at is not None:  # type: ignore[attr-defined]
        return True
    last = last_sign_of_life(job)
    return last is not None and last < _stale_cutoff()


def claim(rows: QuerySet, pk: int, *, running: str, skip: tuple[str, ...]):
    """Lock the row, and unless there is nothing to do mark it running (a new attempt) and
    commit, so that pages show it; None when there is nothing to do.

    Nothing to do: its status is in `skip`, it failed (only a new request, which sets it
    pending, runs a failed job again), or a live attempt holds it (running, beating and not
    interrupted) so that this delivery is a duplicate. Taking over a running row resumes an
    interrupted attempt and counts it in ``interruptions``. With heartbeats on, the claimed
    attempt beats from here until the row is no longer running (done, failed), the claiming
    thread ends, or the enclosing `beating()` block of the task ends."""
    beats = beats_enabled()
    with transaction.atomic():
        job = rows.select_for_update().filter(pk=pk).first()
        if job is None or job.status in skip or job.status == job.Status.FAILED:
            return None
        resumed = job.status == running
        if resumed and beats and job.interrupted_at is None:
            last = last_sign_of_life(job)
            if last is not None and last >= _stale_cutoff():
                return None  # a live attempt holds it: this delivery is a duplicate
        now = timezone.now()
        job.status, job.started_at, job.attempts = running, now, job.attempts + 1
        job.heartbeat_at, job.interrupted_at = now, None
        job.interruptions = job.interruptions + 1 if resumed else 0
        job.error_message = ""
        job.save(update_fields=["status", "started_at", "attempts", "error_message",
                                "heartbeat_at", "interrupted_at", "interruptions"])
    if beats:
        _start_heartbeat(rows.model, job.pk, running)
    return job


class Heartbeat:
    """A daemon thread touching a running job's ``heartbeat_at`` (with its own database
    connection, closed when it ends). It ends when stopped, when the claiming thread ends, or
    when the row is no longer running."""

    def __init__(self, model: type[Model], pk: int, running: str, interval: float,
                 owner: threading.Thread):
        self.model, self.pk, self.running = model, pk, running
        self.interval, self.owner = interval, owner
        self._stop = threading.Event()
        self.thread = threading.Thread(
            target=self._run, daemon=True, name=f"heartbeat-{model._meta.model_name}-{pk}")

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Stop beating (without waiting: the thread ends after its current update)."""
        self._stop.set()

    def beat(self) -> bool:
        """Touch the row (alive: not interrupted); False when it no longer runs. (Any live
        attempt may beat: liveness is all it tells.)"""
        rows = self.model._base_manager.filter(pk=self.pk, status=self.running)
        return bool(rows.update(heartbeat_at=timezone.now(), interrupted_at=None))

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval) and self.owner.is_alive():
                try:
                    if not self.beat():
                        return
                except Error as exc:  # the database is away: try again next time
                    log.warning("heartbeat of %s %s: %s", self.model.__name__, self.pk, exc)
                    connections.close_all()
        finally:
            connections.close_all()  # this thread's connections only


_local = threading.local()  # the heartbeats that claims inside a `beating()` block started


def _start_heartbeat(model: type[Model], pk: int, running: str) -> None:
    beat = Heartbeat(model, pk, running, settings.JOB_HEARTBEAT_SECONDS,
                     threading.current_thread())
    beat.start()
    started = getattr(_local, "beats", None)
    if started is not None:
        started.append(beat)


@contextmanager
def beating() -> Iterator[list[Heartbeat]]:
    """Around a job task's body: the heartbeats its claims start end with it (also when it
    ends with the row still running, e.g. to retry later)."""
    outer = getattr(_local, "beats", None)
    started: list[Heartbeat] = []
    _local.beats = started
    try:
        yield started
    finally:
        for beat in started:
            beat.stop()
        _local.beats = outer


def stalled(rows: QuerySet, now: datetime | None = None) -> QuerySet:
    """Running rows whose attempt has been silent for ``JOB_HEARTBEAT_STALE_SECONDS`` and
    which were not re-queued within that time."""
    cutoff = _stale_cutoff(now)
    model = rows.model
    return rows.filter(
        Q(status=model.Status.RUNNING),
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff),
        Q(interrupted_at__isnull=True) | Q(interrupted_at__lt=cutoff),
    )


def requeue_stalled(rows: QuerySet, send: Callable[[int], object], what: str
                    ) -> dict[str, list[int]]:
    """Beat: re-send (`send(pk)`, after commit) the task of every stalled row of `rows` and
    mark it interrupted; a row whose attempt is the ``JOB_MAX_ATTEMPTS``-th interrupted one
    is marked failed with the reason instead. ``what`` names the job in that reason."""
    out: dict[str, list[int]] = {"requeued": [], "failed": []}
    if settings.JOB_HEARTBEAT_SECONDS <= 0:
        return out
    model = rows.model
    now = timezone.now()
    for pk in stalled(rows, now).values_list("pk", flat=True):
        with transaction.atomic():
            # FOR NO KEY UPDATE: never waits for an import's references to the row; a row
            # being claimed or finished right now is left for the next round
            job = stalled(rows.select_for_update(no_key=True, skip_locked=True), now
                          ).filter(pk=pk).first()
            if job is None:
                continue
            last = last_sign_of_life(job)
            if job.interruptions + 1 >= settings.JOB_MAX_ATTEMPTS:
                reason = (f"The {what} was interrupted {job.interruptions + 1} times: each "
                          "time the worker running it stopped without finishing (killed, out "
                          "of memory or restarted); its last sign of life was at "
                          f"{last:%Y-%m-%d %H:%M:%S} UTC. Nothing of the interrupted attempts "
                          "was kept.")
                model._base_manager.filter(pk=pk).update(
                    status=model.Status.FAILED, error_message=reason,
                    finished_at=now, interrupted_at=None)
                log.warning("%s %s failed: %s", model.__name__, pk, reason)
                out["failed"].append(pk)
            else:
                model._base_manager.filter(pk=pk).update(
                    interrupted_at=now)
                transaction.on_commit(partial(send, pk))
                log.warning("%s %s silent since %s: re-queued (attempt %s was interrupted)",
                            model.__name__, pk, last, job.attempts)
                out["requeued"].append(pk)
    return out


def send_again(task) -> Callable[[int], object]:
    """`requeue_stalled`'s sender for a task taking the row's id: a message that expires
    unless taken within ``JOB_HEARTBEAT_STALE_SECONDS`` (then the next round sends it again)."""
    return lambda pk: task.apply_async(args=[pk], expires=settings.JOB_HEARTBEAT_STALE_SECONDS)
