"""python manage.py audit_checkpoint: sign the audit trail's current head and print it."""

import json

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import CheckpointError, checkpoint_dict, sign_checkpoint


class Command(BaseCommand):
    help = ("Verify the records since the last checkpoint and sign (sequence number, head "
            "hash, records digest, time) of the audit trail with the Ed25519 key.")

    def handle(self, *args, **options):
        try:
            checkpoint = sign_checkpoint()
        except CheckpointError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(checkpoint_dict(checkpoint)))
