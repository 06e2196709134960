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


MANAGE_BOARD = "manage_board"


class OversightBoard(models.Model):
    """A body that reviews agencies' audit trails. Its members are the users of `group`;
    grants are django-guardian object permissions of that group on an Agency."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="board")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [(MANAGE_BOARD, "Can invite and remove the board's members")]

    def __str__(self) -> str:
        return self.name

    @property
    def members(self):
        return self.group.user_set.all()


class BoardRole(models.TextChoices):
    """What an invitation to a board makes its invitee: a member, or a chair who also invites
    and removes members (a django-guardian grant of `manage_board` on the board)."""

    MEMBER = "board_member", "Board member (reads the granted audit trails)"
    CHAIR = "board_chair", "Board chair (also invites and removes members)"


class Invitation(models.Model):
    """An invitation to join an agency with a role, sent by email as a single-use link that
    expires. Only the sha256 of the link's token is stored (agencies/onboarding/)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="invitations",
                               null=True, blank=True)
    board = models.ForeignKey(OversightBoard, on_delete=models.CASCADE,
                              related_name="invitations", null=True, blank=True)
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices + BoardRole.choices,
                            default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="Last (re)sent.")
    times_sent = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(  # to an agency with an agency role, or to a board
                condition=(models.Q(agency__isnull=False, board__isnull=True,
                                    role__in=[r.value for r in Role])
                           | models.Q(agency__isnull=True, board__isnull=False,
                                      role__in=[r.value for r in BoardRole])),
                name="invitation_to_an_agency_or_a_board",
            ),
            models.CheckConstraint(
                condition=models.Q(accepted_at__isnull=True) | models.Q(revoked_at__isnull=True),
                name="invitation_accepted_or_revoked_not_both",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} · {self.target} · {self.role} · {self.status}"

    @property
    def target(self) -> Agency | OversightBoard:
        """The agency or the board the invitation is to."""
        target = self.agency or self.board
        assert target is not None
        return target

    @property
    def role_label(self) -> str:
        return self.role if self.agency_id else BoardRole(self.role).label.split(" (")[0]

    @property
    def status(self) -> str:
        """pending, accepted, revoked or expired."""
        from django.utils import timezone

        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class ApiToken(models.Model):
    """A named API token of one user (agencies/tokens.py). The database holds only the sha256
    of the token, which is shown once; it ends when it expires, is revoked, or its owner's
    password, lock, role or membership changes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_prefix = models.CharField(max_length=12, help_text="The token's first characters.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # sha256 of the owner's password hash when the token was made: a new password ends it
    password_fingerprint = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    revoked_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_prefix}…) · {self.user}"
