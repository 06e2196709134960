"""Insider limits (PostgreSQL): the role web and workers connect as may append to the audit
trail but not change it, even with the triggers in mind; migrations stay the owner's."""

import os

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection

import audit
from audit.checkpoints import sign_checkpoint
from audit.models import AccessEvent, Checkpoint
from tests.audit_helpers import verify

pytestmark = pytest.mark.django_db(transaction=True)

REFUSED = {
    "update": "UPDATE audit_accessevent SET purpose = 'patrol'",
    "delete": "DELETE FROM audit_accessevent",
    "truncate": "TRUNCATE audit_accessevent",
    "disable triggers": "ALTER TABLE audit_accessevent DISABLE TRIGGER ALL",
    "disable one trigger": "ALTER TABLE audit_accessevent DISABLE TRIGGER audit_no_change",
    "drop a trigger": "DROP TRIGGER audit_no_change ON audit_accessevent",
    "replica session": "SET session_replication_role = replica",
    "edit a checkpoint": "UPDATE audit_checkpoint SET head_hash = repeat('f', 64)",
    "delete a checkpoint": "DELETE FROM audit_checkpoint",
    "truncate checkpoints": "TRUNCATE audit_checkpoint",
    "forge a migration": "INSERT INTO django_migrations (app, name, applied) "
                         "VALUES ('audit', '9999_forged', now())",
}


@pytest.fixture
def app_role(world):
    """A fresh login role made by `manage.py audit_db_role` (dropped afterwards)."""
    if connection.vendor != "postgresql":
        pytest.skip("database roles need PostgreSQL")
    name = f"portal_app_test_{os.getpid()}"
    os.environ["PORTAL_APP_TEST_PASSWORD"] = "not-a-real-password-0123"
    call_command("audit_db_role", name, "--password-env", "PORTAL_APP_TEST_PASSWORD")
    yield name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{name}"')
        cursor.execute(f'DROP ROLE "{name}"')
    os.environ.pop("PORTAL_APP_TEST_PASSWORD", None)


def connect_as(role):
    import psycopg

    settings = connection.settings_dict
    return psycopg.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
                           dbname=settings["NAME"], user=role,
                           password="not-a-real-password-0123", autocommit=True)


class portal_connects_as:  # noqa: N801 - used as `with portal_connects_as(role):`
    """The portal's own connection (audit.record, the ORM) logged in as `role`."""

    def __init__(self, role):
        self.role = role

    def __enter__(self):
        connection.close()
        self.saved = connection.settings_dict["USER"], connection.settings_dict["PASSWORD"]
        connection.settings_dict["USER"] = self.role
        connection.settings_dict["PASSWORD"] = "not-a-real-password-0123"

    def __exit__(self, *exc):
        connection.close()
        connection.settings_dict["USER"], connection.settings_dict["PASSWORD"] = self.saved


@pytest.mark.parametrize("what", list(REFUSED))
def test_the_portal_role_cannot_change_the_trail(app_role, world, what):
    import psycopg

    audit.record(action="forecast.view", actor=world.anna, agency=world.alpha, purpose="x")
    sign_checkpoint()
    before = list(AccessEvent.objects.order_by("seq").values_list("seq", "hash"))
    with connect_as(app_role) as role_connection, pytest.raises(
            psycopg.errors.InsufficientPrivilege) as refused:
        role_connection.execute(REFUSED[what])
    # refused for want of a privilege, not by the append-only trigger behind it
    message = str(refused.value)
    assert "permission denied" in message or "must be owner" in message, message
    assert "append-only" not in message
    assert list(AccessEvent.objects.order_by("seq").values_list("seq", "hash")) == before
    assert Checkpoint.objects.count() == 1


def test_the_portal_role_appends_signs_mails_and_verifies(app_role, world, mailoutbox):
    from oversight.tasks import mail_audit_checkpoint

    world.carol.email = "carol@example.org"
    world.carol.save(update_fields=["email"])
    with portal_connects_as(app_role):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == app_role
        # the one writer works, and so do the portal's other tables
        event = audit.record(action="forecast.view", actor=world.anna, agency=world.alpha,
                             purpose="analysis")
        world.alpha.name = "Alpha Police Department"
        world.alpha.save(update_fields=["name"])
        checkpoint = sign_checkpoint()
        assert checkpoint.seq == event.seq
        assert mail_audit_checkpoint.delay().get().startswith("mailed")
        assert verify()[0]
        # but the ORM cannot edit or delete a record either
        with pytest.raises(DatabaseError, match="permission denied"):
            AccessEvent.objects.filter(seq=event.seq).update(purpose="patrol")
        connection.close()
        with pytest.raises(DatabaseError, match="permission denied"):
            AccessEvent.objects.filter(seq=event.seq).delete()
        connection.close()
    assert AccessEvent.objects.get(seq=event.seq).purpose == "analysis"
    assert Checkpoint.objects.get(pk=checkpoint.pk).mailed_at is not None


def test_the_role_command_prints_its_sql_and_refuses_the_owner(world, capsys):
    if connection.vendor != "postgresql":
        pytest.skip("database roles need PostgreSQL")
    call_command("audit_db_role", "portal_app", "--print")
    sql = capsys.readouterr().out
    assert 'GRANT SELECT, INSERT ON "audit_accessevent" TO "portal_app"' in sql
    assert 'REVOKE ALL ON "audit_accessevent"' in sql
    from django.core.management.base import CommandError

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        me = cursor.fetchone()[0]
    with pytest.raises(CommandError, match="must not be the owner"):
        call_command("audit_db_role", me)
