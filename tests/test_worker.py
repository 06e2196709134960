"""Tasks on a real Celery worker process and a real broker."""

import pytest

from agencies import actions
from agencies.models import Membership
from agencies.roles import Role
from agencies.tasks import send_membership_notice
from tests.factories import UserFactory
from tests.worker import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_real_worker_sends_each_notice_once(world, tmp_path, start_worker):
    # given a worker that writes mail to files
    mail_dir = tmp_path / "mail"
    start_worker(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
    )
    erin, fay = UserFactory(username="erin"), UserFactory(username="fay")

    # when alice adds erin (the task is queued on commit) and the same task is sent again
    erin_row = actions.do_add_member(world.alpha, erin, Role.ANALYST, acting_user=world.alice)
    send_membership_notice.delay(erin_row.pk)
    # ...followed by fay's notice, which the single-slot worker handles after both
    fay_row = actions.do_add_member(world.alpha, fay, Role.VIEWER, acting_user=world.alice)

    # then both are marked and erin got exactly one message
    wait_for(lambda: Membership.objects.get(pk=fay_row.pk).notified_at)
    assert Membership.objects.get(pk=erin_row.pk).notified_at is not None
    messages = [p.read_text() for p in mail_dir.iterdir()]
    assert sum("erin@example.org" in m for m in messages) == 1
    assert sum("fay@example.org" in m for m in messages) == 1
