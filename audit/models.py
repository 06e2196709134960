"""The append-only audit trail and its head (the single row that serialises appends)."""

from __future__ import annotations

from django.db import models

from audit.events import Action


class Outcome(models.TextChoices):
    ALLOWED = "allowed"
    DENIED = "denied"


class AccessEvent(models.Model):
    """One recorded event. Rows are never updated or deleted (database triggers refuse it).

    Actor and agency are copied as ids and names, not foreign keys, so that no deletion
    elsewhere can ever reach the log.
    """

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, db_index=True)
    actor_name = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=32, blank=True)
    agency_id = models.BigIntegerField(null=True, db_index=True)
    agency_slug = models.CharField(max_length=60, blank=True)
    action = models.CharField(max_length=64, db_index=True, choices=Action.choices)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=64, blank=True)
    purpose_note = models.CharField(max_length=500, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.ALLOWED)
    source_ip = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["agency_id", "at"], name="audit_agency_time")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action}"

    def hashed_fields(self) -> dict:
        from audit.chain import HASHED_FIELDS

        return {name: getattr(self, name) for name in HASHED_FIELDS}


class AuditHead(models.Model):
    """The last sequence number and hash; locked by each append so the chain stays linear."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"head #{self.seq} {self.hash[:12]}"


class Checkpoint(models.Model):
    """A signed statement (sequence number, head hash, records digest, time) published for
    boards to keep. Rows signed before records digests existed have an empty one."""

    seq = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    records_digest = models.CharField(max_length=64, blank=True, default="")
    at = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=128)
    # when it was mailed to board members (the only column the portal's role may update)
    mailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-seq", "-at"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq} {self.head_hash[:12]} at {self.at:%Y-%m-%d %H:%M}"
