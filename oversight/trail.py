"""What a board member may read of the audit trail, filtered and summarised."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import TruncDate

from agencies import access
from agencies.models import Agency, Membership
from agencies.roles import Role
from audit.events import Action
from audit.export import Visibility
from audit.models import AccessEvent, Outcome

PREDICTION_ACTIONS_PREFIX = "forecast."
UNUSUAL_HOURS = range(0, 5)  # local 00:00-04:59
MANY_DENIALS_PER_DAY = 5
BULK_EXPORT_CELLS = 500
FLAG_SCAN_LIMIT = 50_000


ANY = [("", "any")]
ACTION_GROUPS = [
    ("forecast.", "Any read of a forecast"), ("data.", "Any data change"),
    ("model.", "Any model event"), ("auth.", "Any sign-in event"),
    ("membership.", "Any membership change"), ("invitation.", "Any invitation event"),
    ("audit.", "Any read of this trail"),
]
ROLE_LABELS = {**{role.value: role.label.split(" (")[0] for role in Role},
               "board": "Board member", "staff": "Platform administrator",
               "system": "The portal itself", "anonymous": "Not signed in"}


class TrailFilter(forms.Form):
    """Filters as labelled choices: the users, roles and purposes found in the trail the
    board may read, and every kind of event with the words the trail shows."""

    agency = forms.ChoiceField(required=False)
    user = forms.ChoiceField(required=False)
    role = forms.ChoiceField(required=False)
    action = forms.ChoiceField(required=False, label="Event")
    purpose = forms.ChoiceField(required=False)
    outcome = forms.ChoiceField(required=False, choices=[*ANY, *Outcome.choices])
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data, agencies: list[Agency], events: QuerySet[AccessEvent]):
        super().__init__(data)
        self._choices("agency", [(a.slug, a.name) for a in agencies], "all granted")
        # order_by(): the model's ordering by seq would make every row distinct
        names = (events.exclude(actor_name="").order_by("actor_name")
                 .values_list("actor_name", flat=True).distinct()[:MAX_USERS])
        self._choices("user", [(n, n) for n in names])
        roles = (events.exclude(actor_role="").order_by("actor_role")
                 .values_list("actor_role", flat=True).distinct())
        self._choices("role", [(r, ROLE_LABELS.get(r, r)) for r in roles])
        self._choices("action", [*ACTION_GROUPS, *Action.choices])
        self._choices("purpose", purpose_choices(agencies))

    def _choices(self, name: str, choices: list[tuple[str, str]], blank: str = "any") -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", blank), *choices]


MAX_USERS = 1000
MAX_OFFICERS = 50


def purpose_choices(agencies: list[Agency]) -> list[tuple[str, str]]:
    """The agencies' stated purposes (code, label), each code once, in the agencies' order."""
    seen: dict[str, str] = {}
    for agency in agencies:
        for code, label in agency.access_purposes:
            seen.setdefault(code, label)
    return list(seen.items())


SIGN_IN_PREFIX = "auth."


class ExportRange(forms.Form):
    """The contiguous range of a verifiable export: by record numbers or by days (UTC)."""

    from_seq = forms.IntegerField(required=False, min_value=1, label="From record")
    to_seq = forms.IntegerField(required=False, min_value=1, label="To record")
    from_day = forms.DateField(required=False, label="From day (UTC)",
                               widget=forms.DateInput(attrs={"type": "date"}))
    to_day = forms.DateField(required=False, label="To day (UTC)",
                             widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean() or {}
        by_seq = data.get("from_seq") or data.get("to_seq")
        by_day = data.get("from_day") or data.get("to_day")
        if by_seq and by_day:
            raise forms.ValidationError("Choose records or days, not both.")
        for low, high in (("from_seq", "to_seq"), ("from_day", "to_day")):
            if data.get(low) and data.get(high) and data[low] > data[high]:
                raise forms.ValidationError("The range ends before it starts.")
        return data


def visible_events(user) -> tuple[QuerySet[AccessEvent], list[Agency]]:
    """Events of the agencies the user's boards were granted, the sign-in events of those
    agencies' members, and the events of the user's own boards (members, invitations): the
    same rule as `visibility`."""
    agencies = list(access.agencies_overseen_by(user))
    ids = [a.pk for a in agencies]
    members = Membership.objects.filter(agency_id__in=ids).values("user_id")
    boards = [str(pk) for pk in access.boards_for_user(user).values_list("pk", flat=True)]
    events = AccessEvent.objects.filter(
        Q(agency_id__in=ids)
        | Q(agency_id__isnull=True, actor_id__in=members, action__startswith=SIGN_IN_PREFIX)
        | Q(agency_id__isnull=True, object_type="board", object_id__in=boards)
    )
    return events, agencies


def visibility(agencies: list[Agency], boards: list[int] | None = None) -> Visibility:
    """`visible_events` as a test of one record's (agency_id, actor_id, action, object_type,
    object_id), for the verifiable export, which streams a contiguous range and withholds
    what it fails."""
    ids = {a.pk for a in agencies}
    members = set(Membership.objects.filter(agency_id__in=ids)
                  .values_list("user_id", flat=True))
    own = {str(pk) for pk in boards or ()}

    def visible(agency_id: int | None, actor_id: int | None, action: str,
                object_type: str = "", object_id: str = "") -> bool:
        if agency_id is not None:
            return agency_id in ids
        if object_type == "board" and object_id in own:
            return True
        return actor_id in members and action.startswith(SIGN_IN_PREFIX)

    return visible


def apply_filter(events: QuerySet[AccessEvent], form: TrailFilter) -> QuerySet[AccessEvent]:
    data = form.cleaned_data
    if data.get("agency"):
        events = events.filter(agency_slug=data["agency"])
    exact = {"user": "actor_name", "role": "actor_role", "purpose": "purpose", "outcome": "outcome"}
    for key, column in exact.items():
        if data.get(key):
            events = events.filter(**{column: data[key]})
    if data.get("action"):
        events = events.filter(action__startswith=data["action"])
    if data.get("start"):
        events = events.filter(at__gte=datetime.combine(data["start"], time.min, tzinfo=UTC))
    if data.get("end"):
        end = datetime.combine(data["end"] + timedelta(days=1), time.min, tzinfo=UTC)
        events = events.filter(at__lt=end)
    return events


@dataclass
class Flag:
    kind: str
    text: str
    seqs: list[int] = field(default_factory=list)


@dataclass
class Summary:
    total: int
    by_user: list[dict]
    by_purpose: list[dict]
    per_day: list[tuple[date, int]]
    flags: list[Flag]
    officers: list[dict] = field(default_factory=list)


def summarise(events: QuerySet[AccessEvent], agencies: list[Agency]) -> Summary:
    by_user = list(
        events.values("actor_name", "actor_role")
        .annotate(n=Count("seq"), denied=Count("seq", filter=Q(outcome=Outcome.DENIED)))
        .order_by("-n")[:50]
    )
    labels = dict(purpose_choices(agencies))
    by_purpose = [
        {**row, "label": labels.get(row["purpose"], row["purpose"])}
        for row in events.filter(action__startswith=PREDICTION_ACTIONS_PREFIX)
        .values("purpose").annotate(n=Count("seq")).order_by("-n")
    ]
    per_day = [
        (row["day"], row["n"])
        for row in events.annotate(day=TruncDate("at")).values("day")
        .annotate(n=Count("seq")).order_by("day")
    ]
    return Summary(events.count(), by_user, by_purpose, per_day[-120:],
                   find_flags(events, agencies), officers(events, labels))


def officers(events: QuerySet[AccessEvent], labels: dict[str, str]) -> list[dict]:
    """Per person who read forecasts: reads, exports, forecasts opened, the purposes they
    gave and the patrol selections they looked at (how many top cells were flagged, and
    which selection: plain ranking or fairness-aware), most active first."""
    reads = events.filter(action__startswith=PREDICTION_ACTIONS_PREFIX,
                          outcome=Outcome.ALLOWED).exclude(actor_name="")
    people: dict[str, dict] = {}
    for row in (reads.values("actor_name", "actor_role")
                .annotate(n=Count("seq"),
                          exports=Count("seq", filter=Q(action=Action.FORECAST_EXPORT)),
                          forecasts=Count("object_id", distinct=True),
                          last=Max("at"))
                .order_by("-n")[:MAX_OFFICERS]):
        people[row["actor_name"]] = {**row, "purposes": [], "flagged": [], "selections": []}
    reads = reads.filter(actor_name__in=list(people))
    for row in (reads.values("actor_name", "purpose").annotate(n=Count("seq"))
                .order_by("actor_name", "-n")):
        people[row["actor_name"]]["purposes"].append(
            (labels.get(row["purpose"], row["purpose"] or "(none)"), row["n"]))
    for key, name in (("flagged", "flagged"), ("selection", "selections")):
        for row in (reads.annotate(value=KT(f"details__{key}")).exclude(value__isnull=True)
                    .values("actor_name", "value").annotate(n=Count("seq"))
                    .order_by("actor_name", "-n")):
            people[row["actor_name"]][name].append((row["value"], row["n"]))
    for person in people.values():
        person["flagged"] = person["flagged"][:4]
    return list(people.values())


def find_flags(events: QuerySet[AccessEvent], agencies: list[Agency]) -> list[Flag]:
    """Patterns worth a board's look: bulk exports, unusual hours, repeated denials, and
    prediction reads with a bare purpose."""
    zones: dict[int | None, ZoneInfo] = {a.pk: ZoneInfo(a.timezone) for a in agencies}
    rows = events.order_by("-seq").values_list(
        "seq", "at", "agency_id", "actor_name", "action", "outcome", "purpose", "purpose_note",
        "details",
    )[:FLAG_SCAN_LIMIT]
    night, bare, exports = [], [], []
    denials: Counter[tuple[str, date]] = Counter()
    for seq, at, agency_id, actor, action, outcome, purpose, note, details in rows:
        local = at.astimezone(zones.get(agency_id, ZoneInfo("UTC")))
        is_prediction = action.startswith(PREDICTION_ACTIONS_PREFIX)
        if is_prediction and local.hour in UNUSUAL_HOURS:
            night.append(seq)
        if is_prediction and (not purpose or (purpose == "other" and not note.strip())):
            bare.append(seq)
        if action.endswith(".export") and (details or {}).get("cells", 0) >= BULK_EXPORT_CELLS:
            exports.append(seq)
        if outcome == Outcome.DENIED:
            denials[(actor or "(anonymous)", local.date())] += 1
    flags = []
    if exports:
        flags.append(Flag("bulk-export", f"{len(exports)} exports of "
                          f"{BULK_EXPORT_CELLS}+ forecast cells", exports[:20]))
    if night:
        flags.append(Flag("unusual-hours", f"{len(night)} forecast reads between 00:00 and "
                          "05:00 local time", night[:20]))
    for (actor, day), n in sorted(denials.items()):
        if n >= MANY_DENIALS_PER_DAY:
            flags.append(Flag("denied", f"{actor}: {n} denied attempts on {day}"))
    if bare:
        flags.append(Flag("bare-purpose", f"{len(bare)} forecast reads without a stated "
                          "purpose or with 'other' and no note", bare[:20]))
    return flags


def bar_chart(per_day: list[tuple[date, int]], height: int = 100, step: int = 10) -> dict:
    """SVG geometry of a bar per day (the page draws it without JavaScript)."""
    peak = max((n for _, n in per_day), default=0) or 1
    bars = []
    for i, (day, n) in enumerate(per_day):
        h = round(height * n / peak, 2)
        bars.append({"x": i * step, "y": height - h, "w": step - 2, "h": h, "day": day, "n": n})
    # at least a month wide, so that a few days do not stretch into slabs
    return {"width": max(len(per_day), 30) * step, "bars": bars}
