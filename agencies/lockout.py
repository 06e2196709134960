"""Account lockout (django-axes, configured in portal/settings.py): AXES_FAILURE_LIMIT failed
sign-ins for one username from one address lock that username at that address for
AXES_COOLOFF_TIME after the last failure. An administrator may release a lock earlier
(`manage.py axes_reset_username NAME`, `axes_reset_ip`, or deleting the attempt in the admin):
every release of a lock still in force is audited here, whatever the way."""

from __future__ import annotations

from axes.models import AccessAttempt
from django.conf import settings
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from audit.events import Action


def lock_in_force(attempt: AccessAttempt) -> bool:
    """Whether `attempt` locks its username at its address now."""
    return (attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT
            and attempt.attempt_time > timezone.now() - settings.AXES_COOLOFF_TIME)


@receiver(post_delete, sender=AccessAttempt, dispatch_uid="agencies.lockout.released")
def _released(sender, instance: AccessAttempt, **kwargs) -> None:
    """A lock deleted while in force was released by someone (expired ones are not)."""
    import audit

    if lock_in_force(instance):
        audit.record(action=Action.AUTH_LOCKOUT_RELEASE, details={
            "username": str(instance.username or "")[:150],
            "ip_address": str(instance.ip_address or ""),
        })
