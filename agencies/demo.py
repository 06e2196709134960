"""The demo world: two agencies, an oversight board, one user per role and a platform
administrator (staff, who creates agencies at /platform/agencies/).

Second factors: `make demo` runs with DEBUG, where MFA_REQUIRED is off, so the printed logins
sign in with their password alone; a demo user may still enrol a factor (then it is asked
after the password). Every seed removes the demo users' factors, so that the printed logins
work again. With MFA_REQUIRED=1 each demo user enrols at their first sign-in. Invitation
emails go through Django's mail settings (the console in the demo, so the link is printed in
the server's output; under DEBUG the inviting page shows it too).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from agencies import actions
from agencies.models import Agency, Membership, OversightBoard
from agencies.onboarding import factors
from agencies.roles import Role

DEMO_AGENCY = {"slug": "riverton", "name": "Riverton Police Department",
               "timezone": "America/Chicago", "publishes_public_map": True}
OTHER_AGENCY = {"slug": "lakeside", "name": "Lakeside Sheriff's Office",
                "timezone": "America/New_York", "publishes_public_map": False}
BOARD = {"slug": "riverton-oversight", "name": "Riverton Civilian Oversight Board"}

# username, agency slug (None: board member), role
DEMO_USERS: list[tuple[str, str | None, Role | None]] = [
    ("demo-admin", "riverton", Role.ADMIN),
    ("demo-analyst", "riverton", Role.ANALYST),
    ("demo-viewer", "riverton", Role.VIEWER),
    ("lakeside-analyst", "lakeside", Role.ANALYST),
    ("board-member", None, None),
]
PLATFORM_ADMIN = "platform-admin"


@dataclass
class DemoLogin:
    username: str
    password: str
    what: str


def _upsert_agency(values: dict) -> Agency:
    agency, _ = Agency.objects.update_or_create(slug=values["slug"], defaults=values)
    return agency


@transaction.atomic
def seed_demo(password: str | None = None) -> list[DemoLogin]:
    """Create (or reset) the demo world. Returns the logins with their passwords."""
    agencies = {a["slug"]: _upsert_agency(a) for a in (DEMO_AGENCY, OTHER_AGENCY)}
    board = OversightBoard.objects.filter(slug=BOARD["slug"]).first() or actions.do_create_board(
        BOARD["name"], BOARD["slug"], acting_user=None,
        description="Reviews every access to Riverton's forecasts.",
    )
    actions.do_grant_board(board, agencies["riverton"], acting_user=None)

    User = get_user_model()
    logins = []
    for username, slug, role in DEMO_USERS:
        user, _ = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.org"}
        )
        secret = password or secrets.token_urlsafe(12)
        user.set_password(secret)
        user.save()
        if slug is None or role is None:
            actions.do_add_board_member(board, user, acting_user=None)
            what = f"member of {board.name}"
        else:
            Membership.objects.update_or_create(
                user=user, agency=agencies[slug], defaults={"role": role}
            )
            what = f"{role.value} of {agencies[slug].name}"
        logins.append(DemoLogin(username, secret, what))
    admin, _ = User.objects.get_or_create(
        username=PLATFORM_ADMIN, defaults={"email": f"{PLATFORM_ADMIN}@example.org"})
    secret = password or secrets.token_urlsafe(12)
    admin.set_password(secret)
    admin.is_staff = True
    admin.save()
    logins.append(DemoLogin(PLATFORM_ADMIN, secret,
                            "platform administrator: creates agencies, invites their admins"))
    factors.remove_factors(User.objects.filter(
        username__in=[name for name, _, _ in DEMO_USERS] + [PLATFORM_ADMIN]))
    return logins
