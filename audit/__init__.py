"""The tamper-evident audit trail. `audit.record(...)` is its only writer."""


def record(**kwargs):
    """Append one event to the audit trail (see audit.recorder.record)."""
    from audit.recorder import record as _record

    return _record(**kwargs)
