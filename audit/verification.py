"""Recompute the hash chain and check it against signed checkpoints."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from audit.chain import GENESIS_HASH, link_hash
from audit.models import AccessEvent

BATCH = 20_000


@dataclass
class ChainReport:
    ok: bool
    count: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str = ""
    # seq -> hash of every verified event, kept only for the seqs asked for
    hashes_at: dict[int, str] | None = None


def _events() -> Iterator[AccessEvent]:
    last = 0
    while True:
        batch = list(AccessEvent.objects.filter(seq__gt=last).order_by("seq")[:BATCH])
        if not batch:
            return
        yield from batch
        last = batch[-1].seq


def verify_chain(events: Iterable[AccessEvent] | None = None,
                 keep_hashes_at: set[int] | None = None) -> ChainReport:
    """Walk the log in sequence order. Names the first event that is missing, reordered,
    inserted, edited or wrongly linked."""
    prev_hash, expected_seq, count = GENESIS_HASH, 1, 0
    keep = keep_hashes_at or set()
    kept: dict[int, str] = {}
    for event in events if events is not None else _events():
        if event.seq != expected_seq:
            return ChainReport(False, count, prev_hash, expected_seq,
                               f"sequence number {expected_seq} is missing (found {event.seq})")
        if event.prev_hash != prev_hash:
            return ChainReport(False, count, prev_hash, event.seq,
                               f"event {event.seq} does not link to the event before it")
        if link_hash(prev_hash, event.hashed_fields()) != event.hash:
            return ChainReport(False, count, prev_hash, event.seq,
                               f"event {event.seq} was altered (its hash does not match)")
        prev_hash, expected_seq, count = event.hash, expected_seq + 1, count + 1
        if event.seq in keep:
            kept[event.seq] = event.hash
    return ChainReport(True, count, prev_hash, hashes_at=kept)
