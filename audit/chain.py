"""The hash chain: canonical encoding of an event and its SHA-256 link to the previous one.

hash_n = SHA-256( prev_hash_n (64 hex chars, ASCII) || canonical_json(fields_n) ), with the
genesis previous hash being 64 zeros. canonical_json sorts keys, uses no whitespace, UTF-8,
and writes times as ISO 8601 UTC with microseconds.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64

# The fields covered by the hash, in the canonical encoding (order is irrelevant: keys sort).
HASHED_FIELDS = (
    "seq", "at", "actor_id", "actor_name", "actor_role", "agency_id", "agency_slug", "action",
    "object_type", "object_id", "purpose", "purpose_note", "outcome", "source_ip",
    "user_agent", "request_id", "details",
)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(fields: dict) -> bytes:
    payload = {name: fields[name] for name in HASHED_FIELDS}
    payload["at"] = format_time(payload["at"])
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def link_hash(prev_hash: str, fields: dict) -> str:
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(canonical_bytes(fields))
    return digest.hexdigest()
