"""Notify `public_state` listeners when an area layer changes (PostgreSQL).

The public map names its areas after the agency's reference layer, so choosing another
layer (or changing it) is a change of the public map's state, like a release.
"""

from django.db import migrations

FORWARD = """
CREATE TRIGGER predictions_arealayer_public_state_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON predictions_arealayer
    FOR EACH STATEMENT EXECUTE FUNCTION public_state_changed();
"""

BACKWARD = "DROP TRIGGER IF EXISTS predictions_arealayer_public_state_changed ON predictions_arealayer;"


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
        ("public", "0002_public_state_notifications"),
        ("predictions", "0009_reference_layer"),
    ]
    operations = [migrations.RunPython(forward, backward)]
