"""Notify `public_state` listeners when public releases or agencies change (PostgreSQL).

The public edge (public/edge.py, public/watch.py) reuses what it last read of an agency's
public map until one of these notifications arrives. PostgreSQL delivers them at commit.
Other databases have nothing to listen to: the edge asks the database on every request.
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION public_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('public_state', TG_TABLE_NAME);
    RETURN NULL;
END $$;
CREATE TRIGGER public_release_state_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON public_publicrelease
    FOR EACH STATEMENT EXECUTE FUNCTION public_state_changed();
CREATE TRIGGER agencies_agency_public_state_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON agencies_agency
    FOR EACH STATEMENT EXECUTE FUNCTION public_state_changed();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS public_release_state_changed ON public_publicrelease;
DROP TRIGGER IF EXISTS agencies_agency_public_state_changed ON agencies_agency;
DROP FUNCTION IF EXISTS public_state_changed();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("public", "0001_initial"),
        ("agencies", "0003_agency_enforcement_reason_and_more"),
    ]

    operations = [migrations.RunPython(forward, backward)]
