"""The tamper-evident audit trail. `audit.record(...)` is its only writer.

`record` is looked up lazily (the app registry must be ready before the models load), with
its real signature for readers and type checkers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from audit.recorder import record


def __getattr__(name: str):
    if name == "record":
        from audit.recorder import record

        return record
    raise AttributeError(f"module 'audit' has no attribute {name!r}")


__all__ = ["record"]
