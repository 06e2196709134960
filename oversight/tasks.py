"""Celery tasks of the oversight pages (named in CELERY_IMPORTS: oversight is no Django app)."""

from __future__ import annotations

import json

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agencies.models import OversightBoard
from audit.checkpoints import checkpoint_dict, document, key_id, public_key, sign_checkpoint_quietly
from audit.models import Checkpoint


def board_member_emails() -> list[str]:
    users = get_user_model().objects.filter(
        groups__board__in=OversightBoard.objects.all(), is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def mail_audit_checkpoint() -> str:
    """Mail every board member the checkpoints signed since the last mail (a checkpoint of the
    head is signed first), so that copies leave the database: a row deleted later is caught
    by verifying against a copy a board holds.

    The rows are locked and marked in the transaction that sends, so a second run finds them
    marked; a failure to send rolls the marks back and the retry sends again (at least once).
    """
    sign_checkpoint_quietly()
    kid = key_id(public_key())
    with transaction.atomic():
        pending = list(Checkpoint.objects.select_for_update()
                       .filter(key_id=kid, mailed_at__isnull=True).order_by("seq", "at"))
        if not pending:
            return "nothing new"
        recipients = board_member_emails()
        latest = pending[-1]
        attachment = json.dumps(document([checkpoint_dict(c) for c in pending]), indent=1)
        site = settings.SITE_URL.rstrip("/")
        body = (
            "Hello,\n\n"
            f"The portal signed {len(pending)} checkpoint(s) of its audit trail since its last "
            f"mail, the latest at record {latest.seq} (chain head {latest.head_hash}).\n\n"
            "Keep the attached file. Checking a later export against it proves that nothing it "
            "covers was changed, removed or cut from the end, even if the portal's own copy of "
            "a checkpoint is deleted:\n\n"
            "    python verifier.py audit-trail-....jsonl --checkpoints THIS_FILE.json\n\n"
            f"Verifier: {site}{reverse('audit-verifier')}\n"
            f"Published checkpoints: {site}{reverse('audit-checkpoints')}\n"
            f"Oversight: {site}{reverse('oversight-home')}\n"
        )
        with get_connection() as connection:
            for address in recipients:  # one mail each: members do not see each other
                message = EmailMessage(
                    subject=f"[Crime-prediction portal] Audit checkpoint at record {latest.seq}",
                    body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[address],
                    connection=connection)
                message.attach(f"checkpoints-{latest.seq}.json", attachment, "application/json")
                message.send()
        Checkpoint.objects.filter(pk__in=[c.pk for c in pending]).update(
            mailed_at=timezone.now())
    return f"mailed {len(pending)} checkpoint(s) to {len(recipients)} board member(s)"
