"""A board member downloads a verifiable range of the audit trail in a real browser and
checks it with the standalone verifier, run as a separate process without Django."""

from pathlib import Path

import pytest

import audit
from tests.audit_export_helpers import lines_of, run_standalone
from tests.audit_helpers import run_sql, triggers_lifted
from tests.browser import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def download_range(page, tmp_path: Path, name: str, first=None, last=None) -> Path:
    page.goto("/oversight/")
    if first is not None:
        page.get_by_label("From record").fill(str(first))
        page.get_by_label("To record").fill(str(last))
    with page.expect_download() as download:
        page.get_by_role("button", name="Download a verifiable range").click()
    path = tmp_path / name
    download.value.save_as(path)
    assert download.value.suggested_filename.endswith(".jsonl")
    return path


def test_a_board_member_downloads_a_range_the_standalone_verifier_checks(
        world, password, page, tmp_path):
    # given forecast reads of alpha (overseen by carol's board) and one of bravo (not)
    reads = [audit.record(action="forecast.view", actor=world.anna, actor_role="analyst",
                          agency=world.alpha, object_type="forecast", object_id=i,
                          purpose="analysis", purpose_note=f"review {i}") for i in range(4)]
    audit.record(action="forecast.view", actor=world.bob, actor_role="analyst",
                 agency=world.bravo, purpose="patrol", purpose_note="bravo's business")

    # when carol downloads the whole trail from the oversight page
    sign_in(page, "carol", password)
    page.goto("/oversight/")
    assert page.get_by_role("heading", name="Verifiable export").is_visible()
    screenshot(page, "oversight-verifiable-export")
    path = download_range(page, tmp_path, "whole.jsonl")

    # then the standalone verifier, a separate process without Django, says OK
    status, output = run_standalone(path)
    assert status == 0, output
    assert output.startswith("OK records 1..")
    assert "bravo's business" not in path.read_text()

    # when someone with database access edits one of the records she can see
    target = reads[2]
    with triggers_lifted():
        run_sql("UPDATE audit_accessevent SET purpose_note = 'nothing to see' WHERE seq = %s",
                [target.seq])

    # then a new download of a range holding it names that record
    path = download_range(page, tmp_path, "range.jsonl", first=target.seq, last=target.seq)
    header = lines_of(path)[0]
    assert header["first_seq"] <= target.seq <= header["last_seq"]
    status, output = run_standalone(path)
    assert status == 1, output
    assert output == (f"FAIL at record {target.seq}: record {target.seq} was altered: its "
                      "fields do not match its hash")
