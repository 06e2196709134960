"""The audit trail: one writer, a hash chain, append-only tables, and verification."""

import json

import pytest
from django.db import DatabaseError, connection, transaction

import audit
from agencies import actions
from agencies.models import Membership
from agencies.roles import Role
from audit.chain import GENESIS_HASH, link_hash
from audit.checkpoints import published_document, sign_checkpoint
from audit.models import AccessEvent, AuditHead
from audit.recorder import AuditWriteError
from tests.audit_helpers import break_audit_writes, run_sql, triggers_lifted, verify
from tests.factories import UserFactory


def record_some(world, n=5):
    for i in range(n):
        audit.record(action="forecast.view", actor=world.anna, actor_role="analyst",
                     agency=world.alpha, object_type="forecast", object_id=i,
                     purpose="analysis", details={"cells": i})


def test_it_links_each_event_to_the_one_before(world):
    record_some(world)
    events = list(AccessEvent.objects.order_by("seq"))
    prev = GENESIS_HASH
    for expected_seq, event in enumerate(events, start=1):
        assert event.seq == expected_seq
        assert event.prev_hash == prev
        assert event.hash == link_hash(prev, event.hashed_fields())
        prev = event.hash
    assert AuditHead.objects.get().hash == prev


def test_verify_audit_reports_ok_with_count_and_head(world):
    record_some(world)
    ok, message = verify()
    head = AuditHead.objects.get()
    assert ok
    assert message == f"OK {head.seq} events, head {head.hash}"


def test_a_failed_record_rolls_back_the_change_it_records(world, monkeypatch):
    # given the audit table refuses writes
    break_audit_writes(monkeypatch)
    erin = UserFactory(username="erin")
    # when alice adds erin, then the action fails and erin is not a member
    with pytest.raises(AuditWriteError):
        actions.do_add_member(world.alpha, erin, Role.VIEWER, acting_user=world.alice)
    assert not Membership.objects.filter(user=erin).exists()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_accessevent SET action = 'nothing' WHERE seq = 1",
    "DELETE FROM audit_accessevent WHERE seq = 1",
])
def test_the_database_refuses_changes(world, statement):
    record_some(world, 1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        run_sql(statement)
    assert AccessEvent.objects.filter(seq=1).exclude(action="nothing").exists()


def test_the_database_refuses_truncate(world):
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    record_some(world, 1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        run_sql("TRUNCATE audit_accessevent")


def test_the_orm_cannot_edit_or_delete_either(world):
    record_some(world, 1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessEvent.objects.filter(seq=1).update(purpose="other")
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessEvent.objects.filter(seq=1).delete()


TAMPERINGS = {
    "edited": ("UPDATE audit_accessevent SET purpose = 'patrol' WHERE seq = 3", 3),
    "deleted": ("DELETE FROM audit_accessevent WHERE seq = 3", 3),
    # swap 3 and 4 (through negative numbers, so the primary key stays unique)
    "reordered": ("UPDATE audit_accessevent SET seq = -seq WHERE seq IN (3, 4);"
                  "UPDATE audit_accessevent SET seq = CASE seq WHEN -3 THEN 4 ELSE 3 END "
                  "WHERE seq IN (-3, -4)", 3),
    "truncated at the end": ("DELETE FROM audit_accessevent WHERE seq >= 5", 5),
}


@pytest.mark.parametrize("kind", sorted(TAMPERINGS))
def test_verify_audit_names_the_first_bad_record(world, kind):
    record_some(world, 6)
    statement, first_bad = TAMPERINGS[kind]
    with triggers_lifted():
        for sql in statement.split(";"):
            run_sql(sql)
    ok, message = verify()
    assert not ok
    assert f"sequence number {first_bad}" in message


def test_verify_audit_names_an_inserted_record(world):
    record_some(world, 6)
    forged = AccessEvent.objects.get(seq=3)
    with triggers_lifted():
        # shift 3..6 up by one (in two steps to keep the primary key unique), forge a new 3
        run_sql("UPDATE audit_accessevent SET seq = -(seq + 1) WHERE seq >= 3")
        run_sql("UPDATE audit_accessevent SET seq = -seq WHERE seq < 0")
        fields = forged.hashed_fields() | {"action": "forecast.export"}
        forged_hash = link_hash(forged.prev_hash, fields)
        run_sql(
            "INSERT INTO audit_accessevent (seq, at, actor_id, actor_name, actor_role, "
            "agency_id, agency_slug, action, object_type, object_id, purpose, purpose_note, "
            "outcome, source_ip, user_agent, request_id, details, prev_hash, hash) VALUES "
            "(3, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [forged.at, forged.actor_id, forged.actor_name, forged.actor_role, forged.agency_id,
             forged.agency_slug, "forecast.export", forged.object_type, forged.object_id,
             forged.purpose, forged.purpose_note, forged.outcome, forged.source_ip,
             forged.user_agent, forged.request_id, json.dumps(forged.details),
             forged.prev_hash, forged_hash],
        )
    ok, message = verify()
    assert not ok
    # the forged record links correctly; the original after it no longer does
    assert "sequence number 4" in message


def rewrite_history_from(seq: int) -> None:
    """Change event `seq` and recompute every hash after it, and the head: a careful forger."""
    with triggers_lifted():
        run_sql("UPDATE audit_accessevent SET purpose = 'patrol' WHERE seq = %s", [seq])
        prev = AccessEvent.objects.get(seq=seq - 1).hash if seq > 1 else GENESIS_HASH
        for event in AccessEvent.objects.filter(seq__gte=seq).order_by("seq"):
            new_hash = link_hash(prev, event.hashed_fields())
            run_sql("UPDATE audit_accessevent SET prev_hash = %s, hash = %s WHERE seq = %s",
                    [prev, new_hash, event.seq])
            prev = new_hash
        AuditHead.objects.filter(id=1).update(hash=prev)


def test_checkpoints_catch_a_recomputed_history(world, tmp_path):
    # given a board saved the published checkpoints after 4 events
    record_some(world, 4)
    sign_checkpoint()
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(published_document()))
    record_some(world, 2)
    assert verify("--checkpoints", str(saved))[0]
    # when someone rewrites event 2 and recomputes every later hash
    rewrite_history_from(2)
    # then the chain alone looks fine, but the checkpoint proves the rewrite
    assert verify()[0]
    ok, message = verify("--checkpoints", str(saved))
    assert not ok
    assert "does not extend the checkpoint" in message


def test_a_forged_checkpoint_signature_is_refused(world, tmp_path):
    record_some(world, 2)
    sign_checkpoint()
    document = published_document()
    document["checkpoints"][0]["head_hash"] = "f" * 64
    saved = tmp_path / "forged.json"
    saved.write_text(json.dumps(document))
    ok, message = verify("--checkpoints", str(saved))
    assert not ok and "not validly signed" in message


def test_signing_twice_without_new_events_signs_once(world):
    record_some(world, 2)
    first, second = sign_checkpoint(), sign_checkpoint()
    assert first.pk == second.pk


def test_the_checkpoint_task_signs_the_head(world):
    from audit.tasks import sign_audit_checkpoint

    record_some(world, 3)
    assert sign_audit_checkpoint.delay().get() == AuditHead.objects.get().seq


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", [None, *sorted(TAMPERINGS)])
def test_parallel_verification_finds_the_same_first_fault(world, kind, monkeypatch):
    # given a log large enough to be split over processes (the threshold lowered)
    monkeypatch.setattr("audit.verification.PARALLEL_MIN_EVENTS", 4)
    record_some(world, 9)
    if kind:
        with triggers_lifted():
            for sql in TAMPERINGS[kind][0].split(";"):
                run_sql(sql)
    # when it is verified serially and over 3 processes
    from audit.verification import verify_chain

    serial, parallel = verify_chain(jobs=1), verify_chain(jobs=3)
    # then both agree
    assert (parallel.ok, parallel.first_bad_seq, parallel.count, parallel.head_hash) == (
        serial.ok, serial.first_bad_seq, serial.count, serial.head_hash)
    assert parallel.ok == (kind is None or kind == "truncated at the end")
