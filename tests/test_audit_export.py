"""Verifiable exports and the standalone verifier: every hashed field, every link, every
signed checkpoint, checked by the portal's verifier and by `audit/verifier.py` run alone."""

import hashlib
import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse

import audit
from audit import verifier
from audit.chain import GENESIS_HASH, HASHED_FIELDS, extend_digest, link_hash
from audit.checkpoints import sign_checkpoint
from audit.models import AccessEvent, AuditHead, Checkpoint
from tests.audit_export_helpers import (
    ROOT,
    VERIFIER,
    download,
    lines_of,
    names_record,
    run_standalone,
    save_checkpoints,
    write_lines,
)
from tests.audit_helpers import run_sql, triggers_lifted, verify

# --- the definition, pinned by hand ----------------------------------------------------------

# Written out here, not imported: leaving a field out of the hash must fail a test.
EVERY_HASHED_FIELD = (
    "seq", "at", "actor_id", "actor_name", "actor_role", "agency_id", "agency_slug", "action",
    "object_type", "object_id", "purpose", "purpose_note", "outcome", "source_ip",
    "user_agent", "request_id", "details",
)
FIXED_RECORD = {
    "seq": 1, "at": datetime(2026, 1, 5, 8, 30, tzinfo=UTC), "actor_id": 7,
    "actor_name": "anna", "actor_role": "analyst", "agency_id": 3, "agency_slug": "alpha",
    "action": "forecast.view", "object_type": "forecast", "object_id": "42",
    "purpose": "patrol", "purpose_note": "Shift briefing, Ward 5", "outcome": "allowed",
    "source_ip": "203.0.113.9", "user_agent": "Mozilla/5.0 (Test)",
    "request_id": "0123456789abcdef0123456789abcdef",
    "details": {"cells": 10, "area": "Nord-Süd"},
}
FIXED_CANONICAL = (
    '[1,"2026-01-05T08:30:00.000000Z",7,"anna","analyst",3,"alpha","forecast.view",'
    '"forecast","42","patrol","Shift briefing, Ward 5","allowed","203.0.113.9",'
    '"Mozilla/5.0 (Test)","0123456789abcdef0123456789abcdef",{"area":"Nord-Süd","cells":10}]'
)
FIXED_HASH = "1d234e146cce950d917fe776268659cb3fa71c1e92126c8137f965224b251880"
FIXED_DIGEST = "e3cbcb785c267c8461832aee93e8a860b2d59c2959fbf5dd8b1bb38de70e3043"


def test_the_hashed_fields_are_every_field_of_a_record():
    assert HASHED_FIELDS == EVERY_HASHED_FIELD
    stored = {f.name for f in AccessEvent._meta.concrete_fields} - {"prev_hash", "hash"}
    assert stored == set(EVERY_HASHED_FIELD)


def test_a_worked_example_of_the_hash_over_every_field():
    # the definition, spelled out: SHA-256 of the previous hash in hex, then canonical JSON
    assert hashlib.sha256(
        (GENESIS_HASH + FIXED_CANONICAL).encode("utf-8")).hexdigest() == FIXED_HASH
    # and the code (the verifier's, which the portal imports) computes exactly that
    assert link_hash(GENESIS_HASH, FIXED_RECORD) == FIXED_HASH
    assert verifier.link_hash(GENESIS_HASH, FIXED_RECORD) == FIXED_HASH
    assert extend_digest(GENESIS_HASH, FIXED_HASH, 3, 7, "forecast.view") == FIXED_DIGEST


@pytest.mark.parametrize("field", EVERY_HASHED_FIELD)
def test_the_worked_example_changes_with_each_field(field):
    changed = dict(FIXED_RECORD)
    changed[field] = {"seq": 2, "at": datetime(2026, 1, 5, 8, 30, 0, 1, tzinfo=UTC),
                      "actor_id": 8, "agency_id": 4, "details": {"cells": 11}}.get(field, "x")
    assert link_hash(GENESIS_HASH, changed) != FIXED_HASH


def test_the_portal_hashes_with_the_verifier_file_it_serves():
    from audit import chain

    assert chain.link_hash is verifier.link_hash
    assert chain.HASHED_FIELDS is verifier.HASHED_FIELDS


# --- the world of these tests -----------------------------------------------------------------

def record_some(world, n=6, agency=None):
    """Records of alpha (shown to carol, its board member) with every field filled in."""
    from django.test import RequestFactory

    request = RequestFactory().get("/a/alpha/forecast/", HTTP_USER_AGENT="TestBrowser/1.0",
                                   REMOTE_ADDR="203.0.113.9")
    request.user = world.anna
    request.request_id = "a" * 32
    return [audit.record(action="forecast.view", request=request, actor_role="analyst",
                         agency=agency or world.alpha, object_type="forecast", object_id=i,
                         purpose="analysis", purpose_note=f"note {i}",
                         details={"cells": i, "why": "weekly review"})
            for i in range(n)]


def standalone_fails_at(path, seq, *args):
    status, output = run_standalone(path, *args)
    assert status == 1, output
    assert output.startswith("FAIL"), output
    assert names_record(output, seq), output
    return output


def standalone_ok(path, *args):
    status, output = run_standalone(path, *args)
    assert status == 0, output
    assert output.startswith("OK "), output
    return output


# --- every hashed field, edited in the database, caught by both verifiers ---------------------

EDITS = {
    "seq": ("seq = seq + 1000", []),
    "at": ("at = %s", [datetime(2020, 1, 1, tzinfo=UTC)]),
    "actor_id": ("actor_id = %s", [424242]),
    "actor_name": ("actor_name = %s", ["mallory"]),
    "actor_role": ("actor_role = %s", ["admin"]),
    "agency_id": ("agency_id = %s", ["BRAVO"]),  # moved out of the board's sight
    "agency_slug": ("agency_slug = %s", ["bravo"]),
    "action": ("action = %s", ["forecast.export"]),
    "object_type": ("object_type = %s", ["dataset"]),
    "object_id": ("object_id = %s", ["999"]),
    "purpose": ("purpose = %s", ["patrol"]),
    "purpose_note": ("purpose_note = %s", ["edited"]),
    "outcome": ("outcome = %s", ["denied"]),
    "source_ip": ("source_ip = %s", ["198.51.100.1"]),
    "user_agent": ("user_agent = %s", ["Forged/1.0"]),
    "request_id": ("request_id = %s", ["f" * 32]),
    "details": ("details = %s", ['{"cells": 999, "why": "weekly review"}']),
    # the chain's own columns
    "prev_hash": ("prev_hash = %s", ["e" * 64]),
    "hash": ("hash = %s", ["d" * 64]),
}


def test_every_hashed_field_has_an_edit():
    assert set(EDITS) == {*EVERY_HASHED_FIELD, "prev_hash", "hash"}


@pytest.mark.parametrize("field", list(EDITS))
def test_an_edit_of_each_field_is_caught_by_both_verifiers(world, field, tmp_path):
    # given signed records of alpha, one of which is then edited behind the triggers
    target = record_some(world)[2]
    sign_checkpoint()
    assignment, params = EDITS[field]
    params = [world.bravo.pk if p == "BRAVO" else p for p in params]
    with triggers_lifted():
        run_sql(f"UPDATE audit_accessevent SET {assignment} WHERE seq = %s", [*params, target.seq])
    # then the portal's verifier names it
    ok, message = verify()
    assert not ok
    assert f"sequence number {target.seq}" in message, message
    # and so does the standalone verifier, on the board member's download
    standalone_fails_at(download(world.client_for("carol"), tmp_path), target.seq)


# --- links, order, insertion, the tail ------------------------------------------------------

def swap(a, b):
    return [f"UPDATE audit_accessevent SET seq = -seq WHERE seq IN ({a}, {b})",
            f"UPDATE audit_accessevent SET seq = CASE seq WHEN -{a} THEN {b} ELSE {a} END "
            f"WHERE seq IN (-{a}, -{b})"]


def test_reordered_and_deleted_records_are_named(world, tmp_path):
    events = record_some(world, 8)
    sign_checkpoint()
    third, fourth = events[2].seq, events[3].seq
    carol = world.client_for("carol")
    standalone_ok(download(carol, tmp_path, "before.jsonl"))
    with triggers_lifted():  # swap two records
        for sql in swap(third, fourth):
            run_sql(sql)
    standalone_fails_at(download(carol, tmp_path, "swapped.jsonl"), third)
    with triggers_lifted():  # swap back, then delete one
        for sql in swap(third, fourth):
            run_sql(sql)
        run_sql("DELETE FROM audit_accessevent WHERE seq = %s", [fourth])
    output = standalone_fails_at(download(carol, tmp_path, "deleted.jsonl"), fourth)
    assert "missing" in output
    assert not verify()[0]


def test_records_cut_from_the_end_are_named(world, tmp_path):
    events = record_some(world, 6)
    sign_checkpoint()
    cut = events[-2].seq
    with triggers_lifted():
        run_sql("DELETE FROM audit_accessevent WHERE seq >= %s", [cut])
    assert not verify()[0]
    output = standalone_fails_at(download(world.client_for("carol"), tmp_path), cut)
    assert "missing" in output


def test_an_inserted_record_is_named(world, tmp_path):
    events = record_some(world, 6)
    sign_checkpoint()
    forged_at = events[2].seq
    original = AccessEvent.objects.get(seq=forged_at)
    with triggers_lifted():
        # shift forged_at.. up by one and forge a record there that links to the one before
        run_sql("UPDATE audit_accessevent SET seq = -(seq + 1) WHERE seq >= %s", [forged_at])
        run_sql("UPDATE audit_accessevent SET seq = -seq WHERE seq < 0")
        fields = original.hashed_fields() | {"purpose": "patrol"}
        columns = [*HASHED_FIELDS, "prev_hash", "hash"]
        values = [json.dumps(v) if k == "details" else v for k, v in fields.items()]
        run_sql(f"INSERT INTO audit_accessevent ({', '.join(columns)}) VALUES "
                f"({', '.join(['%s'] * len(columns))})",
                [*values, original.prev_hash, link_hash(original.prev_hash, fields)])
        AuditHead.objects.filter(id=1).update(seq=AuditHead.objects.get().seq + 1)
    ok, message = verify()
    assert not ok and f"sequence number {forged_at + 1}" in message
    # the forged record links; the original after it does not
    output = standalone_fails_at(download(world.client_for("carol"), tmp_path), forged_at + 1)
    assert "does not link" in output


def test_an_edited_link_alone_is_named(world, tmp_path):
    """The link check itself: a prev_hash changed, the record's own hash left as it was
    (hashing over the previous record's hash, not the stored prev_hash, keeps it valid)."""
    target = record_some(world)[3]
    sign_checkpoint()
    with triggers_lifted():
        run_sql("UPDATE audit_accessevent SET prev_hash = %s WHERE seq = %s",
                ["0" * 64, target.seq])
    ok, message = verify()
    assert not ok and f"sequence number {target.seq}" in message
    output = standalone_fails_at(download(world.client_for("carol"), tmp_path), target.seq)
    assert "does not link" in output


def rewrite_history_from(seq):
    """A careful forger: change record `seq` and recompute every later hash and the head."""
    with triggers_lifted():
        run_sql("UPDATE audit_accessevent SET purpose = 'patrol' WHERE seq = %s", [seq])
        prev = AccessEvent.objects.get(seq=seq - 1).hash
        for event in AccessEvent.objects.filter(seq__gte=seq).order_by("seq"):
            new_hash = link_hash(prev, event.hashed_fields())
            run_sql("UPDATE audit_accessevent SET prev_hash = %s, hash = %s WHERE seq = %s",
                    [prev, new_hash, event.seq])
            prev = new_hash
        AuditHead.objects.filter(id=1).update(hash=prev)


def test_a_rewritten_history_with_its_checkpoints_deleted_is_caught_by_a_saved_copy(
        world, tmp_path):
    # given a board saved the published checkpoints
    events = record_some(world, 6)
    sign_checkpoint()
    carol = world.client_for("carol")
    saved = save_checkpoints(carol, tmp_path)
    # when a forger rewrites record 2 on, recomputes every hash and deletes every checkpoint
    rewrite_history_from(events[1].seq)
    Checkpoint.objects.all().delete()
    # then the portal, unaware, signs the forged history, and an export alone verifies...
    path = download(carol, tmp_path)
    standalone_ok(path)
    # ...but not against the copy the board holds
    output = standalone_fails_at(path, events[-1].seq, "--checkpoints", saved)
    assert "rewritten" in output
    assert not verify("--checkpoints", str(saved))[0]


def test_a_deleted_checkpoint_row_is_caught_by_the_copy_a_board_holds(world, tmp_path):
    record_some(world, 4)
    kept = sign_checkpoint()
    carol = world.client_for("carol")
    saved = save_checkpoints(carol, tmp_path)
    record_some(world, 2)
    sign_checkpoint()
    assert verify("--checkpoints", str(saved))[0]
    # when the checkpoint row the board saved is deleted from the database
    Checkpoint.objects.filter(pk=kept.pk).delete()
    # then both verifiers say so, given the board's copy
    ok, message = verify("--checkpoints", str(saved))
    assert not ok and "missing from the portal's database" in message
    path = download(carol, tmp_path)
    output = standalone_fails_at(path, kept.seq, "--checkpoints", saved)
    assert "row was deleted" in output


def test_records_cut_from_the_end_with_the_head_reset_are_caught_by_a_saved_copy(
        world, tmp_path):
    events = record_some(world, 6)
    sign_checkpoint()
    carol = world.client_for("carol")
    saved = save_checkpoints(carol, tmp_path)
    cut = events[-2].seq
    # when a forger removes the last records, moves the head back and deletes the
    # checkpoints that covered them
    with triggers_lifted():
        run_sql("DELETE FROM audit_accessevent WHERE seq >= %s", [cut])
    before = AccessEvent.objects.get(seq=cut - 1)
    AuditHead.objects.filter(id=1).update(seq=before.seq, hash=before.hash)
    Checkpoint.objects.filter(seq__gte=cut).delete()
    # then a new export (its own record takes the place of the first one removed) is
    # consistent on its own, but not with the board's copy
    path = download(carol, tmp_path)
    standalone_ok(path)
    output = standalone_fails_at(path, events[-1].seq, "--checkpoints", saved)
    assert output.startswith(f"FAIL at record {events[-1].seq}:")
    assert "removed from the end" in output
    assert not verify("--checkpoints", str(saved))[0]


# --- withheld records: other agencies' records never leak, and hide nothing -------------------

def test_the_export_shows_every_hashed_field_and_withholds_other_agencies(world, tmp_path):
    record_some(world, 2)
    audit.record(action="forecast.view", actor=world.bob, actor_role="analyst",
                 agency=world.bravo, object_type="forecast", object_id=1, purpose="patrol",
                 purpose_note="bravo's own business")
    record_some(world, 2)
    path = download(world.client_for("carol"), tmp_path)
    text = path.read_text()
    assert "bravo's own business" not in text and '"bob"' not in text
    lines = lines_of(path)
    records = [line for line in lines if line["type"] == "record"]
    withheld = [line for line in lines if line["type"] == "withheld"]
    assert records and all(set(line) == {"type", *EVERY_HASHED_FIELD, "prev_hash", "hash"}
                           for line in records)
    bravo = [line for line in withheld if line["agency_id"] == world.bravo.pk]
    assert bravo and set(bravo[0]) == {"type", "seq", "agency_id", "prev_hash", "hash"}
    # one contiguous range from record 1 to the head, ending at a signed checkpoint
    header, end = lines[0], lines[-1]
    seqs = [line["seq"] for line in records + withheld]
    assert sorted(seqs) == list(range(1, AuditHead.objects.get().seq + 1))
    assert (header["first_seq"], header["last_seq"], header["to_head"]) == (1, max(seqs), True)
    assert end == {"type": "end", "records": len(seqs)}
    assert any(line["type"] == "checkpoint" and line["seq"] == max(seqs) for line in lines)
    output = standalone_ok(path)
    assert f"{len(withheld)} of other agencies withheld" in output


def test_the_export_shows_exactly_what_the_oversight_page_shows(world, password, tmp_path):
    from django.test import Client

    from oversight.trail import visible_events

    for name in ("anna", "bob", "dave"):  # sign-ins: alpha's member, bravo's, nobody's
        Client().post("/accounts/login/", {"username": name, "password": password})
    record_some(world, 1)
    audit.record(action="forecast.view", actor=world.bob, agency=world.bravo, purpose="x")
    lines = lines_of(download(world.client_for("carol"), tmp_path))
    events, _agencies = visible_events(world.carol)  # with the export's own record
    page = set(events.values_list("seq", flat=True))
    shown = {line["seq"] for line in lines if line["type"] == "record"}
    withheld = {line["seq"] for line in lines if line["type"] == "withheld"}
    assert shown == {seq for seq in page if seq <= lines[0]["last_seq"]}
    assert shown and withheld
    logins = dict(AccessEvent.objects.filter(action="auth.login")
                  .values_list("actor_name", "seq"))
    assert logins["anna"] in shown and {logins["bob"], logins["dave"]} <= withheld


def test_a_withheld_record_cannot_hide_the_change_of_a_shown_one(world, tmp_path):
    shown = record_some(world, 1)[0]
    hidden = audit.record(action="forecast.view", actor=world.bob, agency=world.bravo,
                          purpose="patrol")
    record_some(world, 2)
    sign_checkpoint()
    # when a forger edits alpha's record, recomputes its hash and relinks bravo's record
    # (whose content carol cannot see, so she cannot recompute its hash)
    edited = shown.hashed_fields() | {"purpose": "patrol"}
    new_hash = link_hash(shown.prev_hash, edited)
    with triggers_lifted():
        run_sql("UPDATE audit_accessevent SET purpose = 'patrol', hash = %s WHERE seq = %s",
                [new_hash, shown.seq])
        run_sql("UPDATE audit_accessevent SET prev_hash = %s WHERE seq = %s",
                [new_hash, hidden.seq])
    # then the signed records digest gives it away
    output = standalone_fails_at(download(world.client_for("carol"), tmp_path), shown.seq)
    assert "do not match the checkpoint" in output
    assert not verify()[0]


def test_a_record_of_a_granted_agency_cannot_be_withheld(world, tmp_path):
    shown = record_some(world, 2)[1]
    path = download(world.client_for("carol"), tmp_path)
    lines = lines_of(path)
    for i, line in enumerate(lines):
        if line.get("seq") == shown.seq and line["type"] == "record":
            lines[i] = {"type": "withheld", "seq": line["seq"], "agency_id": line["agency_id"],
                        "prev_hash": line["prev_hash"], "hash": line["hash"]}
    output = standalone_fails_at(write_lines(tmp_path / "hidden.jsonl", lines), shown.seq)
    assert "which you oversee" in output


# --- the file itself: signatures, keys, completeness ------------------------------------------

def test_a_forged_checkpoint_a_foreign_key_and_a_cut_file_are_refused(world, tmp_path):
    record_some(world, 3)
    path = download(world.client_for("carol"), tmp_path)
    lines = lines_of(path)
    forged = [dict(line, head_hash="f" * 64) if line["type"] == "checkpoint" else line
              for line in lines]
    output = standalone_fails_at(write_lines(tmp_path / "forged.jsonl", forged),
                                 lines[1]["seq"])
    assert "not validly signed" in output
    status, output = run_standalone(write_lines(tmp_path / "cut.jsonl", lines[:-1]))
    assert status == 1 and "incomplete" in output
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit.checkpoints import public_key_pem

    other = tmp_path / "other.pem"
    other.write_text(public_key_pem(Ed25519PrivateKey.generate().public_key()))
    status, output = run_standalone(path, "--public-key", other)
    assert status == 1 and "not by the key you hold" in output
    status, output = run_standalone(tmp_path / "missing.jsonl")
    assert status == 2


def test_an_export_whose_last_records_no_checkpoint_covers_is_refused(world, tmp_path):
    record_some(world, 3)
    path = download(world.client_for("carol"), tmp_path)
    lines = lines_of(path)
    last = lines[0]["last_seq"]
    unsigned = [line for line in lines if not (line["type"] == "checkpoint"
                                               and line["seq"] == last)]
    output = standalone_fails_at(write_lines(tmp_path / "unsigned.jsonl", unsigned), last)
    assert "not covered by a signed checkpoint" in output


def test_the_verifier_runs_as_a_module_of_the_checkout(world, tmp_path):
    import subprocess
    import sys

    record_some(world, 2)
    path = download(world.client_for("carol"), tmp_path)
    done = subprocess.run([sys.executable, "-m", "audit.verifier", str(path)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("OK "), done.stdout + done.stderr


def test_the_verifier_file_imports_nothing_of_the_portal():
    import ast

    tree = ast.parse(VERIFIER.read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    import sys

    assert imported - set(sys.stdlib_module_names) == {"cryptography"}


# --- ranges ----------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_middle_range_widens_to_the_checkpoints_around_it(world, tmp_path, settings):
    settings.AUDIT_CHECKPOINT_EVENTS = 4  # signed right after each 4th record's commit
    events = record_some(world, 12)
    signed = sorted(Checkpoint.objects.values_list("seq", flat=True))
    middle = events[6].seq
    below = max(s for s in signed if s < middle)
    above = min(s for s in signed if s >= middle)
    path = download(world.client_for("carol"), tmp_path, from_seq=middle, to_seq=middle)
    header = lines_of(path)[0]
    assert (header["first_seq"], header["last_seq"]) == (below + 1, above)
    assert header["requested"] == {"from_seq": str(middle), "to_seq": str(middle)}
    standalone_ok(path)
    # and the same holds against a saved copy of everything published
    standalone_ok(path, "--checkpoints", save_checkpoints(world.client_for("carol"), tmp_path))


def test_a_range_of_days(world, tmp_path, monkeypatch):
    now = {"at": datetime(2026, 3, 1, 12, tzinfo=UTC)}
    monkeypatch.setattr("audit.recorder.timezone.now", lambda: now["at"])
    record_some(world, 2)
    sign_checkpoint()
    now["at"] = datetime(2026, 3, 2, 12, tzinfo=UTC)
    second_day = record_some(world, 2)
    sign_checkpoint()
    now["at"] = datetime(2026, 3, 3, 12, tzinfo=UTC)
    record_some(world, 2)
    path = download(world.client_for("carol"), tmp_path, from_day="2026-03-02",
                    to_day="2026-03-02")
    header = lines_of(path)[0]
    assert (header["first_seq"], header["last_seq"]) == (second_day[0].seq, second_day[-1].seq)
    standalone_ok(path)


def test_a_range_without_records_or_a_wrong_one_is_refused(world):
    carol = world.client_for("carol")
    url = reverse("oversight-export-jsonl")
    assert carol.get(url, {"from_day": "2001-01-01", "to_day": "2001-01-02"}).status_code == 404
    assert carol.get(url, {"from_seq": 5, "to_seq": 2}).status_code == 400
    assert carol.get(url, {"from_seq": 1, "to_day": "2026-01-01"}).status_code == 400


def test_only_board_members_export(world):
    url = reverse("oversight-export-jsonl")
    assert world.client_for("alice").get(url).status_code == 404
    assert world.client_for("anonymous").get(url).status_code == 302


def test_an_export_is_recorded_and_signed_with_it(world, tmp_path):
    record_some(world, 2)
    path = download(world.client_for("carol"), tmp_path)
    event = AccessEvent.objects.filter(action="audit.export").get()
    assert (event.actor_name, event.agency_slug, event.details["format"]) == (
        "carol", "alpha", "jsonl")
    # the export's own record is in it, covered by the checkpoint signed for it
    lines = lines_of(path)
    assert lines[0]["last_seq"] == event.seq
    assert Checkpoint.objects.first().seq == event.seq


# --- the unsigned tail, and what leaves the database ------------------------------------------

def test_the_portal_never_signs_a_broken_chain(world, tmp_path):
    from audit.checkpoints import CheckpointError

    target = record_some(world, 3)[1]
    with triggers_lifted():
        run_sql("UPDATE audit_accessevent SET purpose = 'patrol' WHERE seq = %s", [target.seq])
    with pytest.raises(CheckpointError, match=f"record {target.seq}"):
        sign_checkpoint()
    assert not Checkpoint.objects.exists()
    # an export still comes, and the verifier names the record
    standalone_fails_at(download(world.client_for("carol"), tmp_path), target.seq)


def test_a_checkpoint_row_forged_in_the_database_is_not_built_upon(world):
    record_some(world, 2)
    good = sign_checkpoint()
    Checkpoint.objects.create(seq=good.seq, head_hash=good.head_hash, records_digest="0" * 64,
                              at=good.at, key_id=good.key_id, signature=good.signature)
    record_some(world, 2)
    fresh = sign_checkpoint()
    from audit.checkpoints import checkpoint_dict, public_key

    assert verifier.signature_valid(checkpoint_dict(fresh), public_key())
    head = AuditHead.objects.get()
    assert (fresh.seq, fresh.head_hash) == (head.seq, head.hash)


@pytest.mark.django_db(transaction=True)
def test_a_checkpoint_follows_every_n_records(world, settings):
    settings.AUDIT_CHECKPOINT_EVENTS = 5
    start = AuditHead.objects.get().seq
    record_some(world, 12)
    signed = set(Checkpoint.objects.values_list("seq", flat=True))
    every_fifth = {s for s in range(start + 1, start + 13) if s % 5 == 0}
    assert every_fifth <= signed
    assert len(every_fifth) >= 2


def test_the_beat_signs_every_five_minutes_by_default(settings):
    assert settings.CELERY_BEAT_SCHEDULE["sign-audit-checkpoint"]["schedule"] <= 300
    assert settings.AUDIT_CHECKPOINT_EVENTS == 100


def test_board_members_receive_new_checkpoints_by_mail(world, mailoutbox, tmp_path):
    from oversight.tasks import mail_audit_checkpoint

    world.carol.email = "carol@example.org"
    world.carol.save(update_fields=["email"])
    record_some(world, 3)
    assert mail_audit_checkpoint.delay().get().startswith("mailed")
    assert [m.to for m in mailoutbox] == [["carol@example.org"]]
    name, content, mimetype = mailoutbox[0].attachments[0]
    assert name.endswith(".json") and mimetype == "application/json"
    pem, entries = verifier.load_checkpoints_document(content)
    head = AuditHead.objects.get()
    assert entries[-1]["seq"] == head.seq
    # nothing new, nothing sent; the mailed copy verifies a later export
    assert mail_audit_checkpoint.delay().get() == "nothing new"
    assert len(mailoutbox) == 1
    mailed = tmp_path / "mailed.json"
    mailed.write_text(content)
    standalone_ok(download(world.client_for("carol"), tmp_path), "--checkpoints", mailed)
    # and once deleted from the database, that checkpoint is still caught missing
    Checkpoint.objects.filter(seq=entries[-1]["seq"]).delete()
    standalone_fails_at(download(world.client_for("carol"), tmp_path, "again.jsonl"),
                        entries[-1]["seq"], "--checkpoints", mailed)


def test_the_transparency_page_offers_the_checkpoints_and_the_verifier(world, client):
    html = client.get(reverse("transparency", args=["alpha"])).content.decode()
    assert f'href="{reverse("audit-checkpoints")}" download="checkpoints.json"' in html
    assert f'href="{reverse("audit-verifier")}" download' in html
    response = client.get(reverse("audit-verifier"))
    assert response["Content-Disposition"] == 'attachment; filename="verifier.py"'
    assert response.content == VERIFIER.read_bytes()
    html = world.client_for("carol").get(reverse("oversight-home")).content.decode()
    assert reverse("oversight-export-jsonl") in html and reverse("audit-verifier") in html


# --- the key elsewhere: AUDIT_SIGNING_COMMAND -------------------------------------------------

SIGNER_SCRIPT = """
import base64, sys
from cryptography.hazmat.primitives import serialization
key = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), password=None)
sys.stdout.write(base64.b64encode(key.sign(sys.stdin.buffer.read())).decode())
"""


@pytest.fixture
def key_elsewhere(tmp_path, settings):
    """A private key the portal cannot read, and its public half."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit.checkpoints import public_key_pem

    key = Ed25519PrivateKey.generate()
    private = tmp_path / "elsewhere.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public = tmp_path / "public.pem"
    public.write_text(public_key_pem(key.public_key()))
    settings.AUDIT_SIGNING_KEY_PATH = str(tmp_path / "never-created.pem")
    settings.AUDIT_PUBLIC_KEY_PATH = str(public)
    return private


def test_a_signing_command_signs_with_a_key_the_portal_never_reads(
        world, tmp_path, settings, key_elsewhere):
    import sys

    script = tmp_path / "sign.py"
    script.write_text(SIGNER_SCRIPT)
    settings.AUDIT_SIGNING_COMMAND = f"{sys.executable} {script} {key_elsewhere}"
    record_some(world, 3)
    path = download(world.client_for("carol"), tmp_path)
    standalone_ok(path, "--public-key", settings.AUDIT_PUBLIC_KEY_PATH)
    assert not (tmp_path / "never-created.pem").exists()


def test_openssl_can_be_the_signing_command(world, tmp_path, settings, key_elsewhere):
    import shutil

    if not shutil.which("openssl"):
        pytest.skip("needs openssl")
    # OpenSSL 3.0 signs Ed25519 in one shot and needs a file of known size, not a pipe
    settings.AUDIT_SIGNING_COMMAND = (
        "sh -c 'f=$(mktemp) && cat > \"$f\" && openssl pkeyutl -sign -rawin "
        f"-inkey {key_elsewhere} -in \"$f\"; s=$?; rm -f \"$f\"; exit $s'")
    record_some(world, 2)
    standalone_ok(download(world.client_for("carol"), tmp_path),
                  "--public-key", settings.AUDIT_PUBLIC_KEY_PATH)


def test_a_signing_command_with_the_wrong_key_or_failing_is_refused(
        world, tmp_path, settings, key_elsewhere):
    import sys

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit.checkpoints import CheckpointError

    wrong = tmp_path / "wrong.pem"
    wrong.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    script = tmp_path / "sign.py"
    script.write_text(SIGNER_SCRIPT)
    record_some(world, 1)
    settings.AUDIT_SIGNING_COMMAND = f"{sys.executable} {script} {wrong}"
    with pytest.raises(CheckpointError, match="does not verify"):
        sign_checkpoint()
    settings.AUDIT_SIGNING_COMMAND = f"{sys.executable} -c 'import sys; sys.exit(3)'"
    with pytest.raises(CheckpointError, match="exit 3"):
        sign_checkpoint()
    assert not Checkpoint.objects.exists()


def test_the_export_is_not_stored_by_caches(world):
    record_some(world, 1)
    response = world.client_for("carol").get(reverse("oversight-export-jsonl"))
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
