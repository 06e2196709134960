"""Agencies (tenants), memberships with roles, and oversight boards."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from agencies.roles import Role
from agencies.validators import (
    MAX_CELL_SIZE_M,
    MIN_CELL_SIZE_M,
    validate_boundary,
    validate_timezone,
)

DEFAULT_ACCESS_PURPOSES = [
    ["patrol_planning", "Patrol planning"],
    ["prevention", "Crime prevention work"],
    ["analysis", "Crime analysis"],
    ["evaluation", "Evaluation of the forecasts"],
    ["oversight_request", "Answering an oversight or public request"],
    ["other", "Other (say why in the note)"],
]


def default_access_purposes() -> list[list[str]]:
    return [list(p) for p in DEFAULT_ACCESS_PURPOSES]


class Agency(models.Model):
    """A police agency: the tenant that owns incidents, models and forecasts."""

    #: the requesting member's role, on the instance ``agencies.access`` hands out (not stored)
    member_role: Role

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_timezone]
    )
    boundary = models.JSONField(
        null=True,
        blank=True,
        validators=[validate_boundary],
        help_text="GeoJSON Polygon or MultiPolygon in WGS84 longitude/latitude.",
    )
    cell_size_m = models.PositiveIntegerField(
        "default forecast cell size (m)",
        default=150,
        validators=[MinValueValidator(MIN_CELL_SIZE_M), MaxValueValidator(MAX_CELL_SIZE_M)],
    )
    publishes_public_map = models.BooleanField(default=False)
    public_start_month = models.DateField(
        null=True, blank=True,
        help_text="First month the public map publishes (its first day). Empty: where the "
                  "agency's monthly counts become steady (public.publish.suggested_start).")
    access_purposes = models.JSONField(
        default=default_access_purposes,
        help_text="[code, label] pairs a user chooses from before a forecast is shown.",
    )
    train_on_enforcement_categories = models.BooleanField(
        default=False,
        help_text="Train all-crime models also on enforcement-driven categories (drugs, "
        "vice), whose counts follow patrol activity. Needs a written reason.",
    )
    enforcement_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "agencies"
        permissions = [
            ("view_audit_trail", "Can view the audit trail of this agency"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(train_on_enforcement_categories=False)
                | ~models.Q(enforcement_reason=""),
                name="enforcement_categories_need_a_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def purpose_label(self, code: str) -> str | None:
        return dict((c, label) for c, label in self.access_purposes).get(code)


class Membership(models.Model):
    """A user's role in one agency. A user may belong to several agencies."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["agency__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "agency"], name="one_membership_per_agency"),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="membership_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.agency} · {self.role}"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class OversightBoard(models.Model):
    """A body that reviews agencies' audit trails. Its members are the users of `group`;
    grants are django-guardian object permissions of that group on an Agency."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="board")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def members(self):
        return self.group.user_set.all()
