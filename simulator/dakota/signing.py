"""Dakota's webhook signatures: Ed25519 over `timestamp + raw body`, with the key `GET /_sandbox/webhooks/public-key`
publishes."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def private_key(seed32: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed32)


def public_key_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def public_key_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def dakota_signature(key: Ed25519PrivateKey, timestamp: str, body: bytes) -> str:
    """X-Webhook-Signature: base64 Ed25519 signature of the timestamp string followed by the raw body."""
    return base64.b64encode(key.sign(timestamp.encode() + body)).decode()


def verify_dakota_signature(public_hex: str, timestamp: str, body: bytes, signature_b64: str) -> bool:
    """What a receiver does with the published key (accepts standard or URL-safe base64)."""
    from cryptography.exceptions import InvalidSignature

    try:
        raw = base64.b64decode(signature_b64 + "=" * (-len(signature_b64) % 4), altchars=b"-_")
        if len(raw) != 64:
            raw = base64.b64decode(signature_b64)
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(raw, timestamp.encode() + body)
    except (InvalidSignature, ValueError):
        return False
    return True
