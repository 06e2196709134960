"""Signed checkpoints: Ed25519 signatures over (sequence number, head hash, records digest,
time), defined in `audit/verifier.py`.

A checkpoint is signed at least every AUDIT_CHECKPOINT_EVENTS records and every
AUDIT_CHECKPOINT_SECONDS, and with every export. Before signing, the records since the last
valid checkpoint are verified (the portal never signs a broken chain) and folded into the
records digest, which lets boards verify exports where other agencies' records are withheld.

The key is either a file on this host (AUDIT_SIGNING_KEY_PATH, created on first use) or held
elsewhere: AUDIT_SIGNING_COMMAND receives the bytes to sign on stdin and prints the signature,
and AUDIT_PUBLIC_KEY_PATH names the matching public key.
"""

from __future__ import annotations

import base64
import binascii
import logging
import shlex
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from audit import verifier
from audit.chain import GENESIS_HASH, format_time
from audit.models import AuditHead, Checkpoint

log = logging.getLogger(__name__)
CONTEXT = verifier.CHECKPOINT_CONTEXT
SIGNING_COMMAND_TIMEOUT = 30
SIGNING_LOCK = 0x61756469745F6370  # PostgreSQL advisory lock held while a checkpoint is signed


class CheckpointError(RuntimeError):
    """No checkpoint could be signed (a broken chain, or a signer that failed)."""


def message(seq: int, head_hash: str, at: str, records_digest: str = "") -> bytes:
    return verifier.checkpoint_message(seq, head_hash, at, records_digest)


def load_private_key() -> Ed25519PrivateKey:
    """The signing key at AUDIT_SIGNING_KEY_PATH; created (mode 600) on first use."""
    path = Path(settings.AUDIT_SIGNING_KEY_PATH)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.touch(mode=0o600)
        path.write_bytes(pem)
        log.warning("Created a new audit signing key at %s", path)
        return key
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return loaded


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    return verifier.key_id(key)


def decode_signature(output: bytes) -> bytes:
    """A signing command's output: 64 raw bytes, or the signature in base64 or hex."""
    if len(output) == 64:
        return output
    text = output.strip()
    try:
        raw = bytes.fromhex(text.decode("ascii")) if len(text) == 128 else base64.b64decode(
            text, validate=True)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise CheckpointError(f"the signing command printed no signature ({exc})") from exc
    if len(raw) != 64:
        raise CheckpointError(f"the signing command printed {len(raw)} bytes, not an Ed25519 "
                              "signature (64)")
    return raw


@dataclass
class Signer:
    """Who signs: a command (the key elsewhere) or the key file on this host."""

    command: str
    public_path: str

    @cached_property
    def public_key(self) -> Ed25519PublicKey:
        if not self.command:
            return load_private_key().public_key()
        if not self.public_path:
            raise ImproperlyConfigured("AUDIT_SIGNING_COMMAND needs AUDIT_PUBLIC_KEY_PATH (the "
                                       "PEM public key matching the command's private key)")
        return verifier.load_public_key(Path(self.public_path).read_text(encoding="ascii"))

    def sign(self, data: bytes) -> bytes:
        if not self.command:
            return load_private_key().sign(data)
        try:
            done = subprocess.run(shlex.split(self.command), input=data, capture_output=True,
                                  timeout=SIGNING_COMMAND_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CheckpointError(f"the signing command could not run: {exc}") from exc
        if done.returncode != 0:
            raise CheckpointError(f"the signing command failed (exit {done.returncode}): "
                                  f"{done.stderr.decode('utf-8', 'replace')[:300]}")
        signature = decode_signature(done.stdout)
        from cryptography.exceptions import InvalidSignature

        try:
            self.public_key.verify(signature, data)
        except InvalidSignature as exc:
            raise CheckpointError("the signing command's signature does not verify with "
                                  "AUDIT_PUBLIC_KEY_PATH") from exc
        return signature


def signer() -> Signer:
    return Signer(command=settings.AUDIT_SIGNING_COMMAND,
                  public_path=settings.AUDIT_PUBLIC_KEY_PATH)


def public_key() -> Ed25519PublicKey:
    return signer().public_key


def _base(public: Ed25519PublicKey, seq: int) -> tuple[int, str, str]:
    """(seq, head hash, records digest) of the latest validly signed checkpoint at or before
    `seq`, or the genesis. A row that fails its signature (forged in the database) is
    skipped and reported, never built upon."""
    kid = key_id(public)
    rows = (Checkpoint.objects.filter(key_id=kid, seq__lte=seq).exclude(records_digest="")
            .order_by("-seq", "-at"))
    for checkpoint in rows.iterator():
        if verifier.signature_valid(checkpoint_dict(checkpoint), public):
            return checkpoint.seq, checkpoint.head_hash, checkpoint.records_digest
        log.error("audit checkpoint row %s (record %s) is not validly signed: skipped",
                  checkpoint.pk, checkpoint.seq)
    return 0, GENESIS_HASH, GENESIS_HASH


def sign_checkpoint() -> Checkpoint:
    """Sign the current head. Safe to run twice: an unchanged head is not signed again.

    Raises CheckpointError when the records since the last checkpoint do not verify."""
    from audit.verification import ChainBroken, digest_range

    who = signer()
    public = who.public_key
    kid = key_id(public)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # one signer at a time (beat, every-N tasks, exports): the next one finds this
            # checkpoint and verifies only what came after it
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SIGNING_LOCK])
        head = AuditHead.objects.filter(id=1).first()
        seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        same = (Checkpoint.objects.filter(seq=seq, head_hash=head_hash, key_id=kid)
                .exclude(records_digest="").order_by("-at").first())
        if same is not None and verifier.signature_valid(checkpoint_dict(same), public):
            return same
        base_seq, base_hash, base_digest = _base(public, seq)
        try:
            last_hash, digest = digest_range(base_seq, base_hash, base_digest, seq)
        except ChainBroken as exc:
            log.critical("audit trail broken, no checkpoint signed: %s", exc)
            raise CheckpointError(f"not signed: {exc}") from exc
        if last_hash != head_hash:
            raise CheckpointError(f"not signed: the trail's head does not match record {seq}")
        at = timezone.now()
        signature = who.sign(message(seq, head_hash, format_time(at), digest))
        return Checkpoint.objects.create(
            seq=seq, head_hash=head_hash, records_digest=digest, at=at, key_id=kid,
            signature=base64.b64encode(signature).decode("ascii"),
        )


def sign_checkpoint_quietly() -> Checkpoint | None:
    """For callers that must go on without one (an export): the failure is logged."""
    try:
        return sign_checkpoint()
    except CheckpointError:
        log.exception("audit checkpoint not signed")
        return None


def checkpoint_dict(checkpoint: Checkpoint) -> dict:
    return {
        "seq": checkpoint.seq,
        "head_hash": checkpoint.head_hash,
        "records_digest": checkpoint.records_digest,
        "at": format_time(checkpoint.at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def document(entries: list[dict]) -> dict:
    """A checkpoints.json document: the public key and some checkpoints."""
    public = public_key()
    return {
        "format": CONTEXT,
        "public_key_pem": public_key_pem(public),
        "key_id": key_id(public),
        "checkpoints": entries,
    }


def published_document(limit: int = 1000) -> dict:
    """What the public URL serves: the public key and the latest checkpoints."""
    return document([checkpoint_dict(c) for c in Checkpoint.objects.all()[:limit]])


def verify_signature(entry: dict, public_pem: str) -> bool:
    try:
        public = verifier.load_public_key(public_pem)
    except ValueError:
        return False
    return verifier.signature_valid(entry, public)


def load_saved(path: str) -> tuple[str, list[dict]]:
    """A board's saved copy of the published document: (public key PEM, checkpoints)."""
    return verifier.load_checkpoints_document(Path(path).read_text(encoding="utf-8"))

