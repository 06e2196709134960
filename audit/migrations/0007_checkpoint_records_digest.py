"""Checkpoints sign a records digest (version 2) and remember when they were mailed."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0006_action_layer_import_start'),
    ]

    operations = [
        migrations.AddField(
            model_name='checkpoint',
            name='mailed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='checkpoint',
            name='records_digest',
            field=models.CharField(blank=True, default='', max_length=64),
        ),
    ]
