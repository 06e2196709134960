"""Verifiable exports: a contiguous range of the trail as JSON Lines (format in verifier.py).

The range asked for is widened to signed checkpoints on both sides (it starts just after
one, or at record 1, and ends at one; a checkpoint of the head is signed first), so every
record in it is covered by a signature. Records the reader may not see are withheld: their
sequence number, links, hash and agency only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

from audit import verifier
from audit.chain import HASHED_FIELDS, format_time
from audit.checkpoints import (
    checkpoint_dict,
    key_id,
    public_key,
    public_key_pem,
    sign_checkpoint_quietly,
)
from audit.models import AccessEvent, AuditHead, Checkpoint
from audit.verification import (
    ACTION,
    ACTOR,
    AGENCY,
    HASH,
    OBJECT_ID,
    OBJECT_TYPE,
    PREV,
    SEQ,
    _values,
    rows,
)

# (agency_id, actor_id, action, object_type, object_id) -> may the reader see the content?
Visibility = Callable[[int | None, int | None, str, str, str], bool]


def seq_bounds_for_dates(start: date | None, end: date | None) -> tuple[int | None, int | None]:
    """The first record at or after `start` (00:00 UTC) and the last before the day after
    `end`; (None, None) means no record lies between them."""
    events = AccessEvent.objects.all()
    if start:
        events = events.filter(at__gte=datetime.combine(start, time.min, tzinfo=UTC))
    if end:
        events = events.filter(
            at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC))
    first = events.order_by("seq").values_list("seq", flat=True).first()
    last = events.order_by("-seq").values_list("seq", flat=True).first()
    return first, last


@dataclass
class Plan:
    first: int
    last: int
    head_seq: int
    to_head: bool
    requested: dict
    checkpoints: list[dict] = field(default_factory=list)


def _signed(candidates, public) -> Checkpoint | None:
    for checkpoint in candidates.iterator():
        if verifier.signature_valid(checkpoint_dict(checkpoint), public):
            return checkpoint
    return None


def plan(first: int | None, last: int | None, requested: dict | None = None) -> Plan | None:
    """Sign the head, then widen first..last to signed checkpoints; None if it is empty."""
    sign_checkpoint_quietly()
    head = AuditHead.objects.filter(id=1).first()
    head_seq = head.seq if head else 0
    first, last = max(first or 1, 1), min(last or head_seq, head_seq)
    if first > last:
        return None
    public = public_key()
    kid = key_id(public)
    signed = Checkpoint.objects.filter(key_id=kid).exclude(records_digest="")
    before = _signed(signed.filter(seq__lt=first).order_by("-seq", "-at"), public)
    after = _signed(signed.filter(seq__gte=last, seq__lte=head_seq).order_by("seq", "at"), public)
    start = before.seq + 1 if before else 1
    end = after.seq if after else last  # uncovered: the verifier will say so
    listed = Checkpoint.objects.filter(key_id=kid, seq__gte=start - 1, seq__lte=end)
    return Plan(first=start, last=end, head_seq=head_seq, to_head=end == head_seq,
                requested=requested or {"first": first, "last": last},
                checkpoints=[checkpoint_dict(c) for c in listed.order_by("seq", "at")])


def _dump(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False) + "\n"


def lines(export: Plan, visible: Visibility, header: dict) -> Iterator[str]:
    """The export, a line at a time (streamed: a range may hold millions of records)."""
    public = public_key()
    yield _dump({
        "type": "header", "format": verifier.EXPORT_FORMAT,
        "first_seq": export.first, "last_seq": export.last, "requested": export.requested,
        "head_seq": export.head_seq, "to_head": export.to_head,
        "exported_at": format_time(timezone.now()),
        **header,
        "public_key_pem": public_key_pem(public), "key_id": key_id(public),
        "verify_with": "python verifier.py THIS_FILE --checkpoints YOUR_SAVED_checkpoints.json",
    })
    for entry in export.checkpoints:
        yield _dump({"type": "checkpoint", **entry})
    count = 0
    for row in rows(export.first, export.last):
        count += 1
        agency_id, actor_id, action = row[AGENCY], row[ACTOR], row[ACTION]
        if visible(agency_id, actor_id, action, row[OBJECT_TYPE], row[OBJECT_ID]):
            values = _values(row)
            values[HASHED_FIELDS.index("at")] = format_time(values[HASHED_FIELDS.index("at")])
            yield _dump({"type": "record", **dict(zip(HASHED_FIELDS, values, strict=True)),
                         "prev_hash": row[PREV], "hash": row[HASH]})
        else:
            stub = {"type": "withheld", "seq": row[SEQ], "agency_id": agency_id}
            if agency_id is None:
                stub |= {"actor_id": actor_id, "action": action}
            yield _dump({**stub, "prev_hash": row[PREV], "hash": row[HASH]})
    yield _dump({"type": "end", "records": count})
