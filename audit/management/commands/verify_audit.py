"""python manage.py verify_audit [--checkpoints FILE]: recompute the audit hash chain."""

import os

from django.core.management.base import BaseCommand, CommandError

from audit.chain import GENESIS_HASH
from audit.checkpoints import load_saved, verify_signature
from audit.models import AuditHead, Checkpoint
from audit.verification import verify_chain


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain; optionally prove it extends saved checkpoints."

    def add_arguments(self, parser):
        parser.add_argument(
            "--jobs", type=int, default=os.cpu_count() or 1,
            help="Processes that hash ranges of a large log in parallel (default: all cores).",
        )
        parser.add_argument(
            "--checkpoints", metavar="FILE",
            help="A saved copy of /transparency/audit/checkpoints.json to check against.",
        )

    def handle(self, *args, checkpoints=None, jobs=1, **options):
        saved = load_saved(checkpoints) if checkpoints else (None, [])
        public_pem, entries = saved
        report = verify_chain(keep_hashes_at={int(e["seq"]) for e in entries}, jobs=jobs)
        if not report.ok:
            raise CommandError(
                f"FAIL at sequence number {report.first_bad_seq}: {report.problem}"
            )
        head = AuditHead.objects.filter(id=1).first()
        head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        if head_seq != report.count or head_hash != report.head_hash:
            raise CommandError(
                f"FAIL at sequence number {report.count + 1}: the log ends at {report.count} "
                f"but its head records {head_seq} events (events were removed from the end)"
            )
        for entry in sorted(entries, key=lambda e: int(e["seq"])):
            seq = int(entry["seq"])
            if public_pem is None or not verify_signature(entry, public_pem):
                raise CommandError(
                    f"FAIL: checkpoint at sequence number {seq} is not validly signed"
                )
            if seq > report.count:
                raise CommandError(
                    f"FAIL at sequence number {report.count + 1}: the log has {report.count} "
                    f"events but a signed checkpoint covers {seq}"
                )
            actual = GENESIS_HASH if seq == 0 else (report.hashes_at or {})[seq]
            if actual != entry["head_hash"]:
                raise CommandError(
                    f"FAIL at sequence number {seq}: the log does not extend the checkpoint "
                    "signed there (its history was rewritten)"
                )
            if not Checkpoint.objects.filter(seq=seq, signature=entry["signature"]).exists():
                raise CommandError(
                    f"FAIL at sequence number {seq}: the checkpoint signed there at "
                    f"{entry['at']}, which you hold, is missing from the portal's database "
                    "(its row was deleted)"
                )
        suffix = f", extends {len(entries)} checkpoints" if entries else ""
        self.stdout.write(f"OK {report.count} events, head {report.head_hash}{suffix}")
