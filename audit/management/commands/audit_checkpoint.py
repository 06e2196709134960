"""python manage.py audit_checkpoint: sign the audit trail's current head and print it."""

import json

from django.core.management.base import BaseCommand

from audit.checkpoints import checkpoint_dict, sign_checkpoint


class Command(BaseCommand):
    help = "Sign (sequence number, head hash, time) of the audit trail with the Ed25519 key."

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(checkpoint_dict(sign_checkpoint())))
