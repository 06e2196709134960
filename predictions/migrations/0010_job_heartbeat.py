# Heartbeats of background jobs (predictions/jobs.py): the running attempt's last sign of
# life, when a silent attempt's task was sent again, and how many attempts were interrupted.

from django.db import migrations, models


def job_fields(model_name):
    return [
        migrations.AddField(
            model_name=model_name,
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, help_text='Last sign of life of the running attempt.', null=True),
        ),
        migrations.AddField(
            model_name=model_name,
            name='interrupted_at',
            field=models.DateTimeField(blank=True, help_text="When the silent attempt's task was sent again.", null=True),
        ),
        migrations.AddField(
            model_name=model_name,
            name='interruptions',
            field=models.PositiveSmallIntegerField(default=0, help_text='Attempts since it was last started that were interrupted.'),
        ),
    ]


class Migration(migrations.Migration):

    dependencies = [
        ('predictions', '0009_reference_layer'),
    ]

    operations = [*job_fields('dataset'), *job_fields('trainingrun')]
