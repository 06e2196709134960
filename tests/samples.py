"""Small incident files made by the tests, and a helper to import them."""

from __future__ import annotations

import io

from predictions.importer import run_import
from predictions.uploads import do_upload

GENERIC_MAPPING = {
    "id": "case", "datetime": "when", "x": "lon", "y": "lat", "category": "offence",
    "address": "block",
}
GENERIC_CSV = (
    "case,when,lon,lat,offence,block\n"
    "G-1,2024-03-01T10:15:00,-90.25,38.63,BURGLARY-RESIDENCE,100 MAIN ST\n"
    "G-2,2024-03-02T23:05:00,-90.24,38.62,ROBBERY,200 OAK AV\n"
    "G-3,not a date,-90.24,38.62,ROBBERY,=cmd|' /C calc'!A0\n"
    "G-4,2024-03-03T08:00:00,-90.23,38.61,AUTO THEFT,300 ELM ST\n"
)


def import_sample(agency, user, text: str = GENERIC_CSV, mapping=GENERIC_MAPPING,
                  name: str = "sample.csv", format: str = "generic_csv"):
    dataset = do_upload(agency, [(name, io.BytesIO(text.encode()))], acting_user=user,
                        format=format, mapping=mapping, start=False)
    dataset.status = dataset.Status.PENDING
    dataset.save(update_fields=["status"])
    run_import(dataset.pk)
    dataset.refresh_from_db()
    return dataset
