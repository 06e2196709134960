"""Background jobs' heartbeats: duplicates of a live attempt do nothing, a silent attempt is
sent again and resumes once, the third interrupted attempt fails with its reason, and the
pages say "Interrupted, resuming" meanwhile. (The killed-worker tests with real processes:
tests/test_import_worker.py, tests/test_training_worker.py.)"""

import io
import threading
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from predictions import jobs
from predictions.incidents.actions import do_start_import, do_upload
from predictions.modelling.actions import do_start_training
from predictions.modelling.tasks import requeue_stalled_runs
from predictions.models import Dataset, TrainingRun
from tests.samples import GENERIC_CSV, GENERIC_MAPPING
from tests.worker import wait_for

RUNNING, DONE, STAGED = Dataset.Status.RUNNING, Dataset.Status.DONE, Dataset.Status.STAGED


def pending_dataset(world) -> Dataset:
    dataset = do_upload(world.alpha, [("a.csv", io.BytesIO(GENERIC_CSV.encode()))],
                        acting_user=world.anna, format="generic_csv",
                        mapping=GENERIC_MAPPING, start=False)
    Dataset.objects.filter(pk=dataset.pk).update(status=Dataset.Status.PENDING)
    return dataset


def claim_import(pk: int) -> Dataset | None:
    """What an import task's delivery does first (as predictions.incidents.importer)."""
    return jobs.claim(Dataset.objects.all(), pk, running=RUNNING, skip=(DONE, STAGED))


def falls_silent(pk: int, seconds: int = 60) -> None:
    """The attempt's worker died: no heartbeat for `seconds`."""
    Dataset.objects.filter(pk=pk).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


@pytest.fixture
def beats(settings, monkeypatch):
    """Heartbeats on, as with a broker (their threads recorded, not started: the rows of
    these tests are inside the test's transaction); the sent tasks are recorded too."""
    settings.JOB_HEARTBEAT_SECONDS, settings.JOB_HEARTBEAT_STALE_SECONDS = 5, 20
    started: list[tuple] = []
    monkeypatch.setattr(jobs, "beats_enabled", lambda: True)
    monkeypatch.setattr(jobs, "_start_heartbeat", lambda *args: started.append(args))
    return started


def requeue(django_capture_on_commit_callbacks) -> tuple[dict, list[int]]:
    sent: list[int] = []
    with django_capture_on_commit_callbacks(execute=True):
        result = jobs.requeue_stalled(Dataset.objects.all(), sent.append, "import")
    return result, sent


def test_a_second_delivery_while_the_attempt_beats_does_nothing(world, beats):
    dataset = pending_dataset(world)
    assert claim_import(dataset.pk) is not None
    assert claim_import(dataset.pk) is None  # e.g. the broker's redelivery
    dataset.refresh_from_db()
    assert (dataset.status, dataset.attempts, dataset.interruptions) == (RUNNING, 1, 0)
    assert dataset.heartbeat_at is not None and not dataset.interrupted
    assert beats == [(Dataset, dataset.pk, RUNNING)]


def test_a_silent_attempt_is_sent_again_shown_interrupted_and_resumed_once(
        world, beats, django_capture_on_commit_callbacks):
    # given an import whose worker stopped beating
    dataset = pending_dataset(world)
    claim_import(dataset.pk)
    assert requeue(django_capture_on_commit_callbacks) == ({"requeued": [], "failed": []}, [])
    falls_silent(dataset.pk)

    # then its page says it was interrupted and is resuming, before the beat sends it too
    client = world.client_for("anna")
    status_url = reverse("dataset-status", args=["alpha", dataset.pk])
    assert client.get(status_url).json()["status_display"] == jobs.INTERRUPTED

    # when the beat looks, its task is sent again (once) and the row says so
    assert requeue(django_capture_on_commit_callbacks) == (
        {"requeued": [dataset.pk], "failed": []}, [dataset.pk])
    assert requeue(django_capture_on_commit_callbacks)[1] == []  # not again right away
    dataset.refresh_from_db()
    assert dataset.status == RUNNING and dataset.interrupted_at is not None
    assert dataset.get_status_display() == jobs.INTERRUPTED
    assert client.get(status_url).json()["status_display"] == jobs.INTERRUPTED
    page = client.get(reverse("dataset-detail", args=["alpha", dataset.pk])).content.decode()
    assert f"<span id=\"status-text\">{jobs.INTERRUPTED}</span>" in page
    assert "starts again on another worker" in page
    listing = client.get(reverse("datasets", args=["alpha"])).content.decode()
    assert "interrupted, resuming" in listing

    # when the sent task arrives, it resumes the import as a new attempt; any other
    # delivery of it (the broker's own, late) then finds a live attempt and does nothing
    resumed = claim_import(dataset.pk)
    assert resumed is not None
    assert (resumed.attempts, resumed.interruptions, resumed.interrupted_at) == (2, 1, None)
    assert claim_import(dataset.pk) is None
    dataset.refresh_from_db()
    assert dataset.attempts == 2 and dataset.get_status_display() == "Importing"
    assert client.get(status_url).json()["status_display"] == "Importing"


def test_a_sent_task_that_nobody_takes_is_sent_again(world, beats,
                                                     django_capture_on_commit_callbacks):
    dataset = pending_dataset(world)
    claim_import(dataset.pk)
    falls_silent(dataset.pk)
    assert requeue(django_capture_on_commit_callbacks)[1] == [dataset.pk]
    # (its message expired unread: no worker of that queue for a while)
    Dataset.objects.filter(pk=dataset.pk).update(
        interrupted_at=timezone.now() - timedelta(seconds=21))
    assert requeue(django_capture_on_commit_callbacks)[1] == [dataset.pk]
    dataset.refresh_from_db()
    assert (dataset.attempts, dataset.interruptions) == (1, 0)  # no attempt ran meanwhile


def test_the_third_interrupted_attempt_fails_with_the_reason(
        world, beats, django_capture_on_commit_callbacks):
    # given an import whose worker dies during every attempt
    dataset = pending_dataset(world)
    sent_in_all = []
    for attempt in (1, 2, 3):
        assert claim_import(dataset.pk).attempts == attempt
        falls_silent(dataset.pk)
        result, sent = requeue(django_capture_on_commit_callbacks)
        sent_in_all += sent

    # then it was sent again twice, and the third interruption failed it, saying why
    assert sent_in_all == [dataset.pk, dataset.pk]
    assert result == {"requeued": [], "failed": [dataset.pk]}
    dataset.refresh_from_db()
    assert dataset.status == Dataset.Status.FAILED and dataset.finished_at
    assert "interrupted 3 times" in dataset.error_message
    assert "killed, out of memory or restarted" in dataset.error_message
    page = world.client_for("anna").get(
        reverse("dataset-detail", args=["alpha", dataset.pk])).content.decode()
    assert "interrupted 3 times" in page

    # and a late delivery of an interrupted attempt's task does not run it again
    assert claim_import(dataset.pk) is None
    assert Dataset.objects.get(pk=dataset.pk).status == Dataset.Status.FAILED

    # when the analyst starts it again, it is a fresh start: three interruptions to go
    do_start_import(dataset, acting_user=world.anna, format="generic_csv",
                    mapping=GENERIC_MAPPING)
    again = claim_import(dataset.pk)
    assert (again.attempts, again.interruptions, again.error_message) == (4, 0, "")


def test_without_heartbeats_a_claim_is_as_before_and_nothing_is_sent_again(
        world, settings, django_capture_on_commit_callbacks):
    # given tasks run in-process (no broker): no heartbeats
    settings.JOB_HEARTBEAT_SECONDS = 0
    assert not jobs.beats_enabled()
    dataset = pending_dataset(world)
    claim_import(dataset.pk)
    falls_silent(dataset.pk, 3600)
    # then nothing is sent again, nothing is shown interrupted, and a second delivery
    # claims it (the import's own lock then keeps two deliveries from importing at once)
    assert requeue(django_capture_on_commit_callbacks) == ({"requeued": [], "failed": []}, [])
    assert not Dataset.objects.get(pk=dataset.pk).interrupted
    assert claim_import(dataset.pk).attempts == 2


def test_a_training_run_whose_worker_died_is_resumed_by_the_beat(
        world, settings, django_capture_on_commit_callbacks):
    # given a trained model, and a second run whose worker died a minute into it
    settings.JOB_HEARTBEAT_SECONDS = 5
    model = world.forecast.model
    run = do_start_training(model, acting_user=world.anna)  # (its task: on commit, never)
    TrainingRun.objects.filter(pk=run.pk).update(
        status=TrainingRun.Status.RUNNING, attempts=1, progress=30,
        started_at=timezone.now() - timedelta(minutes=2),
        heartbeat_at=timezone.now() - timedelta(minutes=1))
    run.refresh_from_db()
    assert run.get_status_display() == jobs.INTERRUPTED
    status = world.client_for("anna").get(reverse("training-run-status",
                                                  args=["alpha", run.pk])).json()
    assert status["status_display"] == jobs.INTERRUPTED

    # when the beat looks (its task sent again runs here, in-process)
    with django_capture_on_commit_callbacks(execute=True):
        result = requeue_stalled_runs()

    # then the run was resumed and ended, as its second attempt
    assert result == {"requeued": [run.pk], "failed": []}
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.DONE and run.get_status_display() == "Trained"
    assert (run.attempts, run.interruptions, run.interrupted_at) == (2, 1, None)


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_beats_while_its_task_runs(world, settings, monkeypatch):
    # given heartbeats every 0.1 s
    settings.JOB_HEARTBEAT_SECONDS = 0.1
    monkeypatch.setattr(jobs, "beats_enabled", lambda: True)
    dataset = pending_dataset(world)

    # when a task claims it, the row beats while the task runs
    with jobs.beating() as started:
        claimed = claim_import(dataset.pk)
        (beat,) = started
        wait_for(lambda: Dataset.objects.get(pk=dataset.pk).heartbeat_at > claimed.heartbeat_at,
                 timeout=10, interval=0.05)
        # when the attempt was only slow (the beat sent its task again, as if its worker
        # had died), its next beat says it is alive, and the task sent again does nothing
        Dataset.objects.filter(pk=dataset.pk).update(
            heartbeat_at=timezone.now() - timedelta(seconds=60), interrupted_at=timezone.now())
        wait_for(lambda: not Dataset.objects.get(pk=dataset.pk).interrupted, timeout=10,
                 interval=0.05)
        assert claim_import(dataset.pk) is None
        assert Dataset.objects.get(pk=dataset.pk).attempts == 1

    # and the beat ends with its task, even with the row left running (e.g. to retry later)
    wait_for(lambda: not beat.thread.is_alive(), timeout=10, interval=0.05)

    # and outside a task (a management command), it ends when the row is done
    Dataset.objects.filter(pk=dataset.pk).update(status=Dataset.Status.PENDING)
    threads = set(threading.enumerate())
    claim_import(dataset.pk)
    (thread,) = set(threading.enumerate()) - threads
    assert thread.name.startswith("heartbeat-dataset-")
    Dataset.objects.filter(pk=dataset.pk).update(status=DONE)
    wait_for(lambda: not thread.is_alive(), timeout=10, interval=0.05)


def test_heartbeats_must_be_several_to_a_silence():
    from tests.test_settings_env import settings_value

    result = settings_value("settings.JOB_HEARTBEAT_SECONDS", {
        "DEBUG": "1", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/12",
        "JOB_HEARTBEAT_SECONDS": "10", "JOB_HEARTBEAT_STALE_SECONDS": "20"})
    assert result.returncode != 0 and "JOB_HEARTBEAT_STALE_SECONDS" in result.stderr
    result = settings_value(
        "(settings.JOB_HEARTBEAT_SECONDS, settings.JOB_HEARTBEAT_STALE_SECONDS)",
        {"DEBUG": "1", "CELERY_BROKER_URL": ""})
    assert result.returncode == 0 and result.stdout.strip() == "(0, 20)", result.stderr
