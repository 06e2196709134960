"""Incident references checked once per statement instead of once per row (PostgreSQL).

A foreign key checks every inserted incident with its own lookup of the agency and the
dataset (two per row, ~3 s for the 237k rows of a large upload, more than the whole COPY).
On PostgreSQL the two foreign keys of `predictions_incident` are replaced by triggers
that enforce the same rules with one check per statement:

* inserting or updating incidents (INSERT, COPY, UPDATE): an AFTER ... FOR EACH STATEMENT
  trigger reads the statement's new rows (a transition table), locks every distinct agency
  and dataset they name FOR KEY SHARE (as a foreign key's check does, so neither can be
  deleted until the transaction ends) and raises foreign_key_violation when one is missing;
* deleting (or renumbering) an agency or a dataset that incidents still reference: a
  deferred constraint trigger raises foreign_key_violation at commit, as Django's
  DEFERRABLE INITIALLY DEFERRED foreign keys did ("NO ACTION").

Deletion still cascades as before: `on_delete=CASCADE` is carried out by Django's deletion
collector (incidents first, then the dataset or agency), not by the database.

Also `source_id` and `category` use the "C" collation (byte order): equality, hence
uniqueness per agency, is the same as under any deterministic collation, the category
codes (lower-case ASCII) sort alike, and the indexes compare bytes instead of calling the
locale's strcoll for every key comparison of every inserted row. On a deployment that
already holds many incidents, that change rewrites the table and its indexes under an
exclusive lock: run this migration in a maintenance window.

Other databases (SQLite) keep the plain foreign keys. The model still declares the
foreign keys (Django's state), so a later migration that alters these two fields on
PostgreSQL finds no constraint to drop and would add a plain foreign key back.
"""

from django.db import migrations

FORWARD = """
DO $$
DECLARE c record;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint
             WHERE conrelid = 'predictions_incident'::regclass AND contype = 'f'
               AND confrelid IN ('agencies_agency'::regclass, 'predictions_dataset'::regclass)
    LOOP
        EXECUTE format('ALTER TABLE predictions_incident DROP CONSTRAINT %I', c.conname);
    END LOOP;
END $$;

CREATE FUNCTION predictions_incident_check_references() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE missing bigint;
BEGIN
    PERFORM 1 FROM agencies_agency a
        WHERE a.id IN (SELECT DISTINCT agency_id FROM new_rows) FOR KEY SHARE OF a;
    SELECT n.agency_id INTO missing FROM (SELECT DISTINCT agency_id FROM new_rows) n
        WHERE NOT EXISTS (SELECT 1 FROM agencies_agency a WHERE a.id = n.agency_id) LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING MESSAGE = format(
            'insert or update on table "predictions_incident": agency %s does not exist',
            missing);
    END IF;
    PERFORM 1 FROM predictions_dataset d
        WHERE d.id IN (SELECT DISTINCT dataset_id FROM new_rows) FOR KEY SHARE OF d;
    SELECT n.dataset_id INTO missing FROM (SELECT DISTINCT dataset_id FROM new_rows) n
        WHERE NOT EXISTS (SELECT 1 FROM predictions_dataset d WHERE d.id = n.dataset_id)
        LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING MESSAGE = format(
            'insert or update on table "predictions_incident": dataset %s does not exist',
            missing);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER predictions_incident_references_insert
    AFTER INSERT ON predictions_incident REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION predictions_incident_check_references();
CREATE TRIGGER predictions_incident_references_update
    AFTER UPDATE ON predictions_incident REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION predictions_incident_check_references();

CREATE FUNCTION predictions_incident_check_referenced() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'agencies_agency' THEN
        PERFORM 1 FROM predictions_incident WHERE agency_id = OLD.id LIMIT 1;
    ELSE
        PERFORM 1 FROM predictions_incident WHERE dataset_id = OLD.id LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE foreign_key_violation USING MESSAGE = format(
            'update or delete on table "%s" violates the reference from '
            '"predictions_incident": incidents still refer to id %s', TG_TABLE_NAME, OLD.id);
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER predictions_incident_agency_referenced
    AFTER DELETE OR UPDATE OF id ON agencies_agency DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION predictions_incident_check_referenced();
CREATE CONSTRAINT TRIGGER predictions_incident_dataset_referenced
    AFTER DELETE OR UPDATE OF id ON predictions_dataset DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION predictions_incident_check_referenced();

ALTER TABLE predictions_incident ALTER COLUMN source_id TYPE varchar(100) COLLATE "C";
ALTER TABLE predictions_incident ALTER COLUMN category TYPE varchar(32) COLLATE "C";
"""

BACKWARD = """
ALTER TABLE predictions_incident ALTER COLUMN source_id TYPE varchar(100);
ALTER TABLE predictions_incident ALTER COLUMN category TYPE varchar(32);
DROP TRIGGER predictions_incident_agency_referenced ON agencies_agency;
DROP TRIGGER predictions_incident_dataset_referenced ON predictions_dataset;
DROP FUNCTION predictions_incident_check_referenced();
DROP TRIGGER predictions_incident_references_insert ON predictions_incident;
DROP TRIGGER predictions_incident_references_update ON predictions_incident;
DROP FUNCTION predictions_incident_check_references();
ALTER TABLE predictions_incident ADD CONSTRAINT predictions_incident_agency_id_fk
    FOREIGN KEY (agency_id) REFERENCES agencies_agency (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE predictions_incident ADD CONSTRAINT predictions_incident_dataset_id_fk
    FOREIGN KEY (dataset_id) REFERENCES predictions_dataset (id) DEFERRABLE INITIALLY DEFERRED;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:  # (no %-placeholder parsing)
            cursor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):

    dependencies = [
        ("agencies", "0003_agency_enforcement_reason_and_more"),
        ("predictions", "0004_forecast_fairness_forecastmodel_use_covariates_and_more"),
    ]

    operations = [migrations.RunPython(forward, backward)]
