"""`record()`: the only writer of the audit trail.

It appends inside the caller's database transaction (nesting a savepoint when there is
one), so the access it records and its record commit together or not at all. Appends are
serialised by locking the single AuditHead row; hold that lock briefly by recording at
the end of the work that serves the access.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit.chain import GENESIS_HASH, link_hash
from audit.models import AccessEvent, AuditHead, Outcome
from audit.request_info import client_ip, current_request, request_id

MAX_USER_AGENT = 300


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


def record(
    *,
    action: str,
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
    request = request if request is not None else current_request()
    actor_id, actor_name = _actor_fields(actor, request)
    fields = {
        "actor_id": actor_id,
        "actor_name": actor_name,
        "actor_role": actor_role or _default_role(actor_id, request),
        "agency_id": getattr(agency, "pk", None),
        "agency_slug": getattr(agency, "slug", ""),
        "action": action,
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
        with transaction.atomic():
            head, _ = AuditHead.objects.select_for_update().get_or_create(
                id=1, defaults={"seq": 0, "hash": GENESIS_HASH}
            )
            fields["seq"] = head.seq + 1
            fields["at"] = timezone.now()
            fields["hash"] = link_hash(head.hash, fields)
            event = AccessEvent.objects.create(prev_hash=head.hash, **fields)
            head.seq, head.hash = event.seq, event.hash
            head.save(update_fields=["seq", "hash"])
    except Exception as exc:  # noqa: BLE001 - any failure means "not recorded"
        raise AuditWriteError(f"audit event {action!r} could not be recorded: {exc}") from exc
    return event
