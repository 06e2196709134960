"""`record()`: the only writer of the audit trail.

It appends inside the caller's database transaction, so the access it records and its
record commit together or not at all (a failed append dooms the caller's transaction). Appends are
serialised by locking the single AuditHead row; hold that lock briefly by recording at
the end of the work that serves the access.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.chain import GENESIS_HASH, link_hash
from audit.events import Action
from audit.models import AccessEvent, AuditHead, Outcome
from audit.request_info import client_ip, current_request, request_id

MAX_USER_AGENT = 300
_history_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("audit_history_clock",
                                                                      default=None)


@contextmanager
def history_clock(now: Callable[[], datetime]) -> Iterator[None]:
    """Stamp the records appended in this context with `now()` instead of the wall clock.

    Only the demo's seeded access history uses it (`oversight.demo`), to lay out 90 days of
    past reads through the one writer; nothing that serves a request sets it."""
    token = _history_clock.set(now)
    try:
        yield
    finally:
        _history_clock.reset(token)


class AuditWriteError(RuntimeError):
    """The event could not be recorded; the access it covers must not be served."""


def _actor_fields(actor, request: HttpRequest | None) -> tuple[int | None, str]:
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, ""
    return actor.pk, actor.get_username()


def _default_role(actor_id: int | None, request: HttpRequest | None) -> str:
    if actor_id is not None:
        return ""
    return "system" if request is None else "anonymous"


def _append(fields: dict) -> AccessEvent:
    """Lock the chain's head, link `fields` to it and insert the event: three statements
    written out once, not rebuilt by the ORM for every read it records."""
    with connection.cursor() as cursor:
        cursor.execute(_head_sql()[0])
        row = cursor.fetchone()
        if row is None:  # the first event ever: create the head (and lock it)
            head, _ = AuditHead.objects.select_for_update().get_or_create(
                id=1, defaults={"seq": 0, "hash": GENESIS_HASH})
            row = (head.seq, head.hash)
        prev_seq, prev_hash = row
        fields["seq"] = prev_seq + 1
        fields["at"] = (_history_clock.get() or timezone.now)()
        fields["hash"] = link_hash(prev_hash, fields)
        event = AccessEvent(prev_hash=prev_hash, **fields)
        cursor.execute(_insert_sql(), [
            f.get_db_prep_save(getattr(event, f.attname), connection) for f in _event_fields()])
        cursor.execute(_head_sql()[1], [event.seq, event.hash])
    return event


def _event_fields() -> list:
    return list(AccessEvent._meta.concrete_fields)


@functools.cache
def _head_sql() -> tuple[str, str]:
    """Lock-and-read and update statements of the chain's head (this process's database)."""
    head = connection.ops.quote_name(AuditHead._meta.db_table)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return (f"SELECT seq, hash FROM {head} WHERE id = 1{lock}",
            f"UPDATE {head} SET seq = %s, hash = %s WHERE id = 1")


@functools.cache
def _insert_sql() -> str:
    ops = connection.ops
    columns = ", ".join(ops.quote_name(f.column) for f in _event_fields())
    marks = ", ".join(["%s"] * len(_event_fields()))
    return f"INSERT INTO {ops.quote_name(AccessEvent._meta.db_table)} ({columns}) VALUES ({marks})"


def record(
    *,
    action: Action,
    request: HttpRequest | None = None,
    actor=None,
    actor_role: str = "",
    agency=None,
    object_type: str = "",
    object_id: Any = "",
    purpose: str = "",
    purpose_note: str = "",
    outcome: str = Outcome.ALLOWED,
    details: dict | None = None,
) -> AccessEvent:
    """Append one event and return it. Raises AuditWriteError when it cannot be written.

    `request` defaults to the request being served, if any; `actor` to its user.
    """
    action = Action(action)  # only the kinds of event audit.events names
    request = request if request is not None else current_request()
    actor_id, actor_name = _actor_fields(actor, request)
    fields = {
        "actor_id": actor_id,
        "actor_name": actor_name,
        "actor_role": actor_role or _default_role(actor_id, request),
        "agency_id": getattr(agency, "pk", None),
        "agency_slug": getattr(agency, "slug", ""),
        "action": action.value,
        "object_type": object_type,
        "object_id": str(object_id) if object_id != "" else "",
        "purpose": purpose,
        "purpose_note": purpose_note[:500],
        "outcome": Outcome(outcome).value,
        "source_ip": client_ip(request) if request is not None else "",
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:MAX_USER_AGENT] if request else "",
        "request_id": request_id(request) if request is not None else "",
        "details": details or {},
    }
    try:
        # No savepoint of its own: a failed append dooms the caller's whole transaction,
        # so what it covers cannot commit without it (and two round trips are saved).
        with transaction.atomic(savepoint=False):
            event = _append(fields)
            every = settings.AUDIT_CHECKPOINT_EVENTS
            if every > 0 and event.seq % every == 0:
                # no more than `every` records go unsigned; a failure is logged, never raised
                transaction.on_commit(_sign_checkpoint_soon, robust=True)
    except Exception as exc:  # noqa: BLE001 - any failure means "not recorded"
        raise AuditWriteError(f"audit event {action!r} could not be recorded: {exc}") from exc
    return event


def _sign_checkpoint_soon() -> None:
    from audit.tasks import sign_audit_checkpoint

    sign_audit_checkpoint.delay()
