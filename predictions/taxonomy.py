"""Standard offence taxonomy and the rules that map agencies' raw offence texts onto it.

A mapping is a pure function of the raw text: ``normalize_category(raw, overrides, format)``
first looks the normalized text (upper case, single spaces) up in the agency's exact-text
``overrides``, then tries the format's ordered regex rules, then the shared keyword rules.
No match gives ``None`` (unmapped); ``"other"`` is a deliberate mapping (e.g. traffic).

Taxonomy choices: ``vice`` (prostitution, gambling, liquor laws) was added to the proposed
list so that enforcement-driven records can be kept apart from victim-reported ones;
arson is folded into ``vandalism`` (as police.uk does with "Criminal damage and arson").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    label: str
    enforcement_driven: bool = False
    note: str = ""


_ENFORCEMENT_NOTE = (
    "recorded mostly through proactive policing (stops, searches, stings), so counts "
    "follow patrol intensity more than victimisation; exclude from hotspot targets by default"
)

CATEGORIES: dict[str, Category] = {
    c.code: c
    for c in (
        Category("burglary", "Burglary"),
        Category("robbery", "Robbery"),
        Category("assault", "Assault"),
        Category("theft", "Theft"),
        Category("vehicle_theft", "Vehicle theft"),
        Category("theft_from_vehicle", "Theft from vehicle"),
        Category("vandalism", "Criminal damage and arson"),
        Category("drugs", "Drugs", True, _ENFORCEMENT_NOTE),
        Category("weapons", "Weapons possession", True, _ENFORCEMENT_NOTE),
        Category("vice", "Vice (prostitution, gambling, liquor)", True, _ENFORCEMENT_NOTE),
        Category("sexual_offence", "Sexual offence"),
        Category("homicide", "Homicide"),
        Category("fraud", "Fraud and deception"),
        Category("other", "Other"),
    )
}
CATEGORY_CODES: frozenset[str] = frozenset(CATEGORIES)
ENFORCEMENT_DRIVEN: frozenset[str] = frozenset(
    c for c, m in CATEGORIES.items() if m.enforcement_driven
)

Rules = tuple[tuple[str, str], ...]

# St. Louis (SLMPD) offence descriptions.
SLMPD_RULES: Rules = (
    (r"^(HOMICIDE|MURDER|MANSLAUGHTER)", "homicide"),
    (r"^(RAPE|SEX OFF|FORCIBLE SODOMY)", "sexual_offence"),
    (r"^ROBBERY", "robbery"),
    (r"^(AGG\.? ?ASSAULT|AS+LT|ASLT|ASSAULT|SIMPLE ASSAULT)", "assault"),
    (r"^POSSESSION OF BURGLAR", "other"),
    (r"^BURGLARY", "burglary"),
    (r"^AUTO THEFT", "vehicle_theft"),
    (r"^LARC(ENY)?-(FROM MTR VEH|MTR VEH PARTS)", "theft_from_vehicle"),
    (r"^LARC", "theft"),
    (r"^(STLG BY DECEIT|FRAUD|ATTEMPT FRAUD|FRD|FORGERY|EMBEZZLEMENT)", "fraud"),
    (r"^(DESTRUCTION OF PROPERTY|DESTRUC|DSTRCTN|ARSON)", "vandalism"),
    (r"^DRUGS", "drugs"),
    (r"^(WEAPONS|EXPLOSIVES)", "weapons"),
    (r"^(PROSTITUTION|GAMBLING|LIQUOR LAWS)", "vice"),
    (
        r"^(LEAVING SCENE OF ACCIDENT|PUBLIC ORDER|DISORDERLY|LOITERING|OBSTRUCT|"
        r"STOLEN PROPERTY|HEALTH|DUI|FAILURE TO RETURN|FAMILY & CHILD|STALKING|"
        r"AGGRAVATED STALKING|SAFETY|PORNAGRAPHY|KIDNAPPING|ALL OTH|CONSPIRACY|"
        r"ELDER ABUSE|RISKING INFECTION|ABANDONMENT OF A CORPSE)",
        "other",
    ),
)

# Chicago "Primary Type - Description" (Socrata export).
CHICAGO_RULES: Rules = (
    (r"^(HOMICIDE)", "homicide"),
    (r"^(CRIM SEXUAL ASSAULT|CRIMINAL SEXUAL ASSAULT|SEX OFFENSE)", "sexual_offence"),
    (r"^ROBBERY", "robbery"),
    (r"^(ASSAULT|BATTERY)", "assault"),
    (r"^BURGLARY", "burglary"),
    (r"^MOTOR VEHICLE THEFT", "vehicle_theft"),
    (r"^THEFT", "theft"),
    (r"^CRIMINAL DAMAGE|^ARSON", "vandalism"),
    (r"^(NARCOTICS|OTHER NARCOTIC VIOLATION)", "drugs"),
    (r"^(WEAPONS VIOLATION|CONCEALED CARRY LICENSE VIOLATION)", "weapons"),
    (r"^(PROSTITUTION|GAMBLING|LIQUOR LAW VIOLATION|PUBLIC INDECENCY|OBSCENITY)", "vice"),
    (r"^DECEPTIVE PRACTICE", "fraud"),
    (
        r"^(OTHER OFFENSE|CRIMINAL TRESPASS|PUBLIC PEACE VIOLATION|INTERFERENCE WITH PUBLIC|"
        r"OFFENSE INVOLVING CHILDREN|KIDNAPPING|STALKING|INTIMIDATION|HUMAN TRAFFICKING|"
        r"NON-CRIMINAL|RITUALISM|OTHER)",
        "other",
    ),
)

# San Francisco "Incident Category - Incident Subcategory" (Socrata export).
SF_RULES: Rules = (
    (r"^LARCENY THEFT - LARCENY - FROM VEHICLE", "theft_from_vehicle"),
    (r"^(LARCENY THEFT|STOLEN PROPERTY)", "theft"),
    (r"^(MOTOR VEHICLE THEFT|RECOVERED VEHICLE)", "vehicle_theft"),
    (r"^(MALICIOUS MISCHIEF|VANDALISM|ARSON)", "vandalism"),
    (r"^(HUMAN TRAFFICKING|RAPE|SEX OFFENSE)", "sexual_offence"),
    (r"^(FORGERY AND COUNTERFEITING|FRAUD|EMBEZZLEMENT)", "fraud"),
    (r"^(DRUG OFFENSE|DRUG VIOLATION)", "drugs"),
    (r"^(WEAPONS OFFENSE|WEAPONS CARRYING ETC)", "weapons"),
    (r"^(PROSTITUTION|GAMBLING|LIQUOR LAWS)", "vice"),
)

# police.uk street-level crime types. "Vehicle crime" mixes theft of and from vehicles;
# "Violence and sexual offences" mixes assault and sexual offences (mapped to assault).
POLICE_UK_RULES: Rules = (
    (r"^BURGLARY$", "burglary"),
    (r"^ROBBERY$", "robbery"),
    (r"^VIOLENCE AND SEXUAL OFFENCES$|^VIOLENT CRIME$", "assault"),
    (r"^(BICYCLE THEFT|OTHER THEFT|SHOPLIFTING|THEFT FROM THE PERSON)$", "theft"),
    (r"^VEHICLE CRIME$", "vehicle_theft"),
    (r"^CRIMINAL DAMAGE AND ARSON$", "vandalism"),
    (r"^DRUGS$", "drugs"),
    (r"^POSSESSION OF WEAPONS$", "weapons"),
    (r"^(ANTI-SOCIAL BEHAVIOUR|PUBLIC ORDER|OTHER CRIME|PUBLIC DISORDER AND WEAPONS)$", "other"),
)

# NIJ / Portland calls for service (CASE_DESC). Most call types are not crimes, so the list
# ends with a catch-all "other" (keyword fallbacks would misread "DISTURBANCE - WITH WEAPON").
NIJ_RULES: Rules = (
    (r"^BURGLARY", "burglary"),
    (r"^ROBBERY", "robbery"),
    (r"^(ASSAULT|STABBING|SHOOTING)", "assault"),
    (r"^VEHICLE STOLEN", "vehicle_theft"),
    (r"^THEFT", "theft"),
    (r"^(VANDALISM|ARSON)", "vandalism"),
    (r"^VICE", "vice"),
    (r"^FRAUD", "fraud"),
    (r"^(SEX|RAPE)", "sexual_offence"),
    (r".", "other"),
)

# Keyword fallbacks for any format (generic CSV uploads in particular).
SHARED_RULES: Rules = (
    (r"HOMICIDE|MURDER|MANSLAUGHTER", "homicide"),
    (r"RAPE|SEXUAL|SEX OFF|INDECENT ASSAULT|MOLEST", "sexual_offence"),
    (r"ROBBERY|CARJACK|MUGGING", "robbery"),
    (r"ASSAULT|BATTERY|WOUNDING|ASSLT", "assault"),
    (r"BURGLAR|BREAKING AND ENTERING|HOUSEBREAK", "burglary"),
    (
        r"(THEFT|LARCENY|STEALING)\W+FROM\W+(A\W+)?(MOTOR\W+)?(VEHICLE|AUTO|CAR)",
        "theft_from_vehicle",
    ),
    (
        r"(AUTO|MOTOR VEHICLE|VEHICLE|CAR) THEFT|STOLEN (VEHICLE|AUTO|CAR)|VEHICLE STOLEN",
        "vehicle_theft",
    ),
    (r"THEFT|LARCENY|SHOPLIFT|PICKPOCKET|STEALING", "theft"),
    (r"VANDALISM|CRIMINAL DAMAGE|GRAFFITI|ARSON|DESTRUCTION OF PROPERTY", "vandalism"),
    (r"NARCOTIC|DRUG", "drugs"),
    (r"WEAPON|FIREARM|GUN", "weapons"),
    (r"PROSTITUTION|SOLICITATION|GAMBLING|LIQUOR", "vice"),
    (r"FRAUD|FORGERY|DECEPTI|EMBEZZLE|COUNTERFEIT|IDENTITY THEFT", "fraud"),
)

FORMAT_RULES: dict[str, Rules] = {
    "slmpd": SLMPD_RULES,
    "socrata": CHICAGO_RULES + SF_RULES,
    "police_uk": POLICE_UK_RULES,
    "nij_shapefile": NIJ_RULES,
    "generic_csv": (),
}

_SPACES = re.compile(r"\s+")


def normalize_text(raw: str | None) -> str:
    """Upper-case, trim and collapse whitespace: the key used for overrides and rules."""
    if not raw:
        return ""
    return _SPACES.sub(" ", raw.strip()).upper()


def _validate_overrides(overrides: Mapping[str, str | None]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for raw, code in overrides.items():
        if code is not None and code not in CATEGORY_CODES:
            raise ValueError(f"category override {raw!r} -> {code!r}: unknown category code")
        out[normalize_text(raw)] = code
    return out


class CategoryMapper:
    """Memoized raw-text -> category mapping for one format and one set of overrides."""

    def __init__(
        self, format: str | None = None, overrides: Mapping[str, str | None] | None = None
    ) -> None:
        self.format = format
        self.overrides = _validate_overrides(overrides or {})
        rules = FORMAT_RULES.get(format or "", ()) + SHARED_RULES
        self._rules = [(re.compile(p), code) for p, code in rules]
        self._cache: dict[str, str | None] = {}

    def _compute(self, raw: str) -> str | None:
        key = normalize_text(raw)
        if key in self.overrides:
            return self.overrides[key]
        if not key:
            return None
        for pattern, code in self._rules:
            if pattern.search(key):
                return code
        return None

    def __call__(self, raw: str) -> str | None:
        try:
            return self._cache[raw]
        except KeyError:
            code = self._cache[raw] = self._compute(raw)
            return code

    def map_list(self, raws: Iterable[str]) -> list[str | None]:
        cache = self._cache
        out: list[str | None] = []
        append = out.append
        for raw in raws:
            try:
                append(cache[raw])
            except KeyError:
                append(self(raw))
        return out

    def map_array(self, raws: np.ndarray) -> np.ndarray:
        """Map an object array of raw texts (one rule evaluation per distinct text)."""
        if len(raws) == 0:
            return np.empty(0, dtype=object)
        uniq, inverse = np.unique(raws.astype(str), return_inverse=True)
        codes = np.array([self(str(u)) for u in uniq], dtype=object)
        return codes[inverse.reshape(-1)]


@lru_cache(maxsize=64)
def _mapper(format: str | None, overrides: tuple[tuple[str, str | None], ...]) -> CategoryMapper:
    return CategoryMapper(format, dict(overrides))


def normalize_category(
    raw: str, mapping_overrides: Mapping[str, str | None] | None = None, format: str | None = None
) -> str | None:
    """Category code for one raw offence text (``None`` when no rule matches)."""
    key = tuple(sorted((mapping_overrides or {}).items()))
    return _mapper(format, key)(raw)


def remap_categories(
    raw_texts: Iterable[str],
    mapping_overrides: Mapping[str, str | None] | None = None,
    format: str | None = None,
) -> dict[str, str | None]:
    """Re-map a set of distinct raw texts at once: ``{raw: code}`` (e.g. after an edit)."""
    mapper = CategoryMapper(format, mapping_overrides)
    return {raw: mapper(raw) for raw in set(raw_texts)}
