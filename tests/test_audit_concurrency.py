"""Concurrent appends keep the chain linear (PostgreSQL, where requests really run in parallel)."""

import threading

import pytest
from django.db import connection, connections

import audit
from audit.models import AccessEvent
from tests.audit_helpers import verify

pytestmark = pytest.mark.django_db(transaction=True)
THREADS, EACH = 8, 25


def test_parallel_records_form_one_unbroken_chain(world):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises whole-database writes; the race needs PostgreSQL")
    start = threading.Barrier(THREADS)
    errors = []

    def worker(n):
        try:
            start.wait()
            for i in range(EACH):
                audit.record(action="forecast.view", actor=world.anna, actor_role="analyst",
                             agency=world.alpha, object_id=f"{n}-{i}", purpose="analysis")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    before = AccessEvent.objects.count()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    seqs = list(AccessEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, before + THREADS * EACH + 1))
    assert verify()[0]
