"""python manage.py publish_releases [--agency SLUG]: the same code as the Celery task."""

import json

from django.core.management.base import BaseCommand, CommandError

from agencies.models import Agency
from public.tasks import publish_releases


class Command(BaseCommand):
    help = "Publish the due monthly public releases (differentially private) of agencies."

    def add_arguments(self, parser):
        parser.add_argument("--agency", help="Slug of one agency (default: all that opted in).")

    def handle(self, *args, agency=None, **options):
        agency_id = None
        if agency:
            found = Agency.objects.filter(slug=agency).first()
            if found is None:
                raise CommandError(f"no agency {agency!r}")
            agency_id = found.pk
        for line in publish_releases.apply(args=[agency_id]).get():
            self.stdout.write(json.dumps(line))
