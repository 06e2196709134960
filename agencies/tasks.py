"""Celery tasks of the agencies app. Tasks take ids and are safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from agencies.models import Membership


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_membership_notice(membership_id: int) -> str:
    """Tell a user about their (new) role in an agency, once per role change.

    The row is locked and marked in the transaction that sends, so a second run finds it
    marked and does nothing; a worker killed before the commit leaves it unmarked and the
    redelivered task sends it (at least once, never silently lost).
    """
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update()
            .select_related("user", "agency")
            .filter(pk=membership_id, notified_at__isnull=True)
            .first()
        )
        if membership is None:
            return "nothing to do"
        user, agency = membership.user, membership.agency
        if user.email:
            url = settings.SITE_URL.rstrip("/") + reverse("agency-workspace", args=[agency.slug])
            send_mail(
                subject=f"[Crime-prediction portal] Your role in {agency.name}",
                message=(
                    f"Hello {user.get_username()},\n\n"
                    f"You now have the {membership.role} role in {agency.name}.\n"
                    f"Workspace: {url}\n\n"
                    "Every access to a forecast is recorded and reviewed by an oversight board.\n"
                ),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
        membership.notified_at = timezone.now()
        membership.save(update_fields=["notified_at"])
    return "sent" if user.email else "no email address"
