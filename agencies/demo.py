"""The demo world: two agencies, an oversight board and one user per role."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from agencies import actions
from agencies.models import Agency, Membership, OversightBoard
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
    return logins
