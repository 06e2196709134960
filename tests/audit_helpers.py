"""Helpers for audit tests: lifting the append-only triggers to tamper on purpose."""

from __future__ import annotations

import contextlib

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from audit.triggers import drop_triggers, install_triggers


@contextlib.contextmanager
def triggers_lifted():
    """What an attacker with database access can do: change rows behind the triggers."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = origin")
    else:
        drop_triggers(connection)
        try:
            yield
        finally:
            install_triggers(connection)


def run_sql(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify(*args) -> tuple[bool, str]:
    """(ok, message) of `manage.py verify_audit ARGS`."""
    import io

    out = io.StringIO()
    try:
        call_command("verify_audit", *args, stdout=out)
    except CommandError as exc:
        return False, str(exc)
    return True, out.getvalue().strip()


def break_audit_writes(monkeypatch) -> None:
    """Make every audit append fail in the database (its insert names a missing table)."""
    from audit import recorder

    monkeypatch.setattr(recorder, "_insert_sql",
                        lambda: "INSERT INTO audit_no_such_table (seq) VALUES (1)")
