"""Signed checkpoints: Ed25519 signatures over (sequence number, head hash, time).

Boards save published checkpoints; `verify_audit --checkpoints FILE` later proves that the
log still extends them, so a history rewritten with recomputed hashes is caught.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, format_time
from audit.models import AuditHead, Checkpoint

log = logging.getLogger(__name__)
CONTEXT = "crime-portal-audit-checkpoint-v1"


def message(seq: int, head_hash: str, at: str) -> bytes:
    return f"{CONTEXT}\n{seq}\n{head_hash}\n{at}".encode("ascii")


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
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_checkpoint() -> Checkpoint:
    """Sign the current head. Safe to run twice: an unchanged head is not signed again."""
    key = load_private_key()
    with transaction.atomic():
        head = AuditHead.objects.filter(id=1).first()
        seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        latest = Checkpoint.objects.first()
        if latest is not None and latest.seq == seq and latest.head_hash == head_hash:
            return latest
        at = timezone.now()
        signature = key.sign(message(seq, head_hash, format_time(at)))
        return Checkpoint.objects.create(
            seq=seq, head_hash=head_hash, at=at, key_id=key_id(key.public_key()),
            signature=base64.b64encode(signature).decode("ascii"),
        )


def checkpoint_dict(checkpoint: Checkpoint) -> dict:
    return {
        "seq": checkpoint.seq,
        "head_hash": checkpoint.head_hash,
        "at": format_time(checkpoint.at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }


def published_document(limit: int = 1000) -> dict:
    """What the public URL serves: the public key and the latest checkpoints."""
    public = load_private_key().public_key()
    return {
        "format": CONTEXT,
        "public_key_pem": public_key_pem(public),
        "key_id": key_id(public),
        "checkpoints": [checkpoint_dict(c) for c in Checkpoint.objects.all()[:limit]],
    }


def verify_signature(entry: dict, public_pem: str) -> bool:
    public = serialization.load_pem_public_key(public_pem.encode("ascii"))
    if not isinstance(public, Ed25519PublicKey):
        return False
    try:
        public.verify(
            base64.b64decode(entry["signature"]),
            message(int(entry["seq"]), entry["head_hash"], entry["at"]),
        )
    except (InvalidSignature, ValueError, KeyError):
        return False
    return True


def load_saved(path: str) -> tuple[str, list[dict]]:
    """A board's saved copy of the published document: (public key PEM, checkpoints)."""
    document = json.loads(Path(path).read_text())
    return document["public_key_pem"], list(document["checkpoints"])
