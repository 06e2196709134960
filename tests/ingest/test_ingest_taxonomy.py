"""Category taxonomy, built-in mappings, agency overrides and re-mapping."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.taxonomy import (
    CATEGORIES,
    CATEGORY_CODES,
    ENFORCEMENT_DRIVEN,
    CategoryMapper,
    normalize_category,
    remap_categories,
)


@pytest.mark.parametrize(
    ("fmt", "raw", "code"),
    [
        ("slmpd", "BURGLARY-RESIDENCE-FORCIBLE ENTRY/NIGHT", "burglary"),
        ("slmpd", "LARCENY-FROM MTR VEH UNDER $500", "theft_from_vehicle"),
        ("slmpd", "LARCENY-MTR VEH PARTS UNDER $500", "theft_from_vehicle"),
        ("slmpd", "LARCENY-SHOPLIFT UNDER $500", "theft"),
        ("slmpd", "AGG.ASSAULT-FIREARM/CITIZEN ADULT 1ST DEGREE", "assault"),
        ("slmpd", "ASSLT-AGGRAV-FIREARM-1ST-ADULT-DOMESTIC", "assault"),
        ("slmpd", "AUTO THEFT-PERM RETNT/UNRECOV OVER 48HR", "vehicle_theft"),
        ("slmpd", "LEAVING SCENE OF ACCIDENT                 ", "other"),
        ("slmpd", "DESTRUCTION OF PROPERTY", "vandalism"),
        ("slmpd", "ROBBERY CARJACKING /FIREARM USED/SUCCESS", "robbery"),
        ("slmpd", "RAPE -- FORCIBLE", "sexual_offence"),
        ("slmpd", "HOMICIDE", "homicide"),
        ("slmpd", "DRUGS-POSSESSION/HEROIN", "drugs"),
        ("slmpd", "STLG BY DECEIT/IDENTITY THEFT REPORT", "fraud"),
        ("slmpd", "PROSTITUTION", "vice"),
        ("slmpd", "POSSESSION OF BURGLAR TOOLS", "other"),
        ("socrata", "BATTERY - SIMPLE", "assault"),
        ("socrata", "CRIMINAL DAMAGE - TO VEHICLE", "vandalism"),
        ("socrata", "MOTOR VEHICLE THEFT - AUTOMOBILE", "vehicle_theft"),
        ("socrata", "DECEPTIVE PRACTICE - FINANCIAL IDENTITY THEFT OVER $ 300", "fraud"),
        ("socrata", "NARCOTICS - POSS: CANNABIS 30GMS OR LESS", "drugs"),
        ("police_uk", "Criminal damage and arson", "vandalism"),
        ("police_uk", "Anti-social behaviour", "other"),
        ("police_uk", "Possession of weapons", "weapons"),
        ("police_uk", "Theft from the person", "theft"),
        ("nij_shapefile", "VEHICLE STOLEN - COLD", "vehicle_theft"),
        ("nij_shapefile", "DISTURBANCE - WITH WEAPON *H", "other"),
        ("nij_shapefile", "VICE-DRUGS, LIQUOR, PROSTITUTION, GAMBLING", "vice"),
        ("generic_csv", "Residential burglary", "burglary"),
        ("generic_csv", "Theft from motor vehicle", "theft_from_vehicle"),
        ("generic_csv", "Parking ticket", None),
        (None, "", None),
    ],
)
def test_builtin_rules(fmt, raw, code):
    assert normalize_category(raw, format=fmt) == code
    assert code is None or code in CATEGORY_CODES


def test_metadata():
    assert {"drugs", "vice", "weapons"} == ENFORCEMENT_DRIVEN
    assert CATEGORIES["drugs"].enforcement_driven and not CATEGORIES["burglary"].enforcement_driven
    assert {"burglary", "robbery", "assault", "theft", "vehicle_theft", "theft_from_vehicle",
            "vandalism", "drugs", "weapons", "sexual_offence", "homicide", "fraud",
            "other"} <= CATEGORY_CODES  # fmt: skip


def test_overrides_are_exact_text_and_win():
    overrides = {"leaving scene of accident": "vandalism", "Parking  ticket": "other"}
    assert normalize_category("LEAVING SCENE OF ACCIDENT", overrides, "slmpd") == "vandalism"
    assert normalize_category(" parking ticket ", overrides, "generic_csv") == "other"
    assert normalize_category("LEAVING SCENE OF ACCIDENT", None, "slmpd") == "other"
    with pytest.raises(ValueError, match="unknown category"):
        CategoryMapper("slmpd", {"X": "jaywalking"})


def test_remap_is_a_pure_function_of_raw_text():
    raws = ["HOMICIDE", "LARCENY-BICYCLES UNDER $500", "HOMICIDE", "SOMETHING NEW"]
    before = remap_categories(raws, format="slmpd")
    assert before == {
        "HOMICIDE": "homicide",
        "LARCENY-BICYCLES UNDER $500": "theft",
        "SOMETHING NEW": None,
    }
    after = remap_categories(raws, {"SOMETHING NEW": "fraud"}, format="slmpd")
    assert after["SOMETHING NEW"] == "fraud" and after["HOMICIDE"] == "homicide"
    mapper = CategoryMapper("slmpd", {"SOMETHING NEW": "fraud"})
    arr = np.array(raws * 1000, dtype=object)
    mapped = mapper.map_array(arr)
    assert mapped.tolist() == [after[r] for r in raws] * 1000
