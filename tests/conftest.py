"""The shared world of the portal's tests.

Agency A ("alpha") has alice (admin), anna (analyst) and victor (viewer); agency B
("bravo") has bob (analyst). carol sits on a board granted A's audit trail; dave has an
account and nothing else; and there is the anonymous visitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pytest
from django.test import Client

from agencies import actions
from agencies.roles import Role
from portal.celery import app as celery_app
from tests.factories import PASSWORD, AgencyFactory, BoardFactory, MembershipFactory, UserFactory


@dataclass
class World:
    alpha: object
    bravo: object
    board: object
    alice: object
    anna: object
    victor: object
    bob: object
    carol: object
    dave: object

    def client_for(self, name: str) -> Client:
        """A client signed in as `name`, or anonymous for "anonymous"."""
        client = Client()
        if name != "anonymous":
            client.force_login(getattr(self, name))
        return client

    def membership(self, username: str):
        return getattr(self, username).memberships.get()

    @cached_property
    def dataset(self):
        """A small imported dataset of agency A (with one rejected row)."""
        from tests.samples import import_sample

        return import_sample(self.alpha, self.anna)

    @cached_property
    def forecast(self):
        """A forecast of agency A from a small synthetic city."""
        from tests.samples import make_forecast

        return make_forecast(self.alpha, self.anna)


@pytest.fixture
def world(db) -> World:
    alpha = AgencyFactory(slug="alpha", name="Alpha Police")
    bravo = AgencyFactory(slug="bravo", name="Bravo Police")
    users = {name: UserFactory(username=name) for name in
             ["alice", "anna", "victor", "bob", "carol", "dave"]}
    MembershipFactory(user=users["alice"], agency=alpha, role=Role.ADMIN)
    MembershipFactory(user=users["anna"], agency=alpha, role=Role.ANALYST)
    MembershipFactory(user=users["victor"], agency=alpha, role=Role.VIEWER)
    MembershipFactory(user=users["bob"], agency=bravo, role=Role.ANALYST)
    board = BoardFactory(slug="alpha-board", name="Alpha Oversight Board")
    actions.do_add_board_member(board, users["carol"], acting_user=None)
    actions.do_grant_board(board, alpha, acting_user=None)
    return World(alpha=alpha, bravo=bravo, board=board, **users)


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _local_files_in_tmp(settings, tmp_path_factory):
    base = tmp_path_factory.getbasetemp()
    settings.AUDIT_SIGNING_KEY_PATH = str(base / "audit-key.pem")
    settings.UPLOAD_ROOT = str(base / "uploads")
    settings.MODEL_ROOT = str(base / "models")


@pytest.fixture(autouse=True)
def _eager_tasks_unless_worker(request):
    """Tests run tasks in-process, except those marked `worker`, which need the real one."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    saved = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = saved


@pytest.fixture(autouse=True)
def _audit_triggers(request):
    """Every database test starts with the audit table's append-only triggers in force.

    Transactional tests end with a flush of every table, which those triggers refuse; for
    them only, the triggers are lifted at teardown (which runs before the flush): disabled
    for the session on PostgreSQL, dropped on SQLite (and restored by the next test).
    """
    if not _uses_database(request):
        yield
        return
    request.getfixturevalue("db")
    from django.db import connection

    from audit.triggers import drop_triggers, install_triggers

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = origin")
    else:
        install_triggers(connection)
    yield
    if _is_transactional(request):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = replica")
        else:
            drop_triggers(connection)


def _uses_database(request) -> bool:
    names = set(request.fixturenames)
    return bool(
        request.node.get_closest_marker("django_db")
        or names & {"db", "transactional_db", "live_server", "world"}
    )


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(
        (marker and marker.kwargs.get("transaction"))
        or {"transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture
def published(world):
    """Agency A publishes its public map (a synthetic city, 2024-01 .. 2024-05)."""
    from django.core.cache import cache

    from public.tasks import publish_releases

    cache.clear()
    world.forecast  # noqa: B018
    world.alpha.publishes_public_map = True
    world.alpha.save(update_fields=["publishes_public_map"])
    publish_releases.delay(world.alpha.pk)
    yield world
    cache.clear()


# Shared fixtures, registered once here: a session fixture imported into several test
# modules would start once per module.
from tests.browser import chromium, page  # noqa: E402, F401, I001
from tests.worker import start_worker  # noqa: E402, F401
