"""Id generation: Sumsub 24-hex ids, Dakota KSUIDs, share tokens, request ids. Seedable for reproducibility."""

from __future__ import annotations

import base64
import json
import os
import random
import re
import secrets
import threading
import uuid

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_PAIRS = [a + b for a in _BASE62 for b in _BASE62]  # 62**2 two-digit strings, index = value
_KSUID_EPOCH = 1_400_000_000
# A KSUID's timestamp is 32 bits of seconds after its epoch: the last instant it can name is 2150-06-19T23:21:35Z.
KSUID_LAST_EPOCH = _KSUID_EPOCH + 2**32 - 1


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def canonical_uuid(text: str) -> str | None:
    """`text` as a lowercase UUID when it is one in the canonical 8-4-4-4-12 form (RFC 9562, hex in either case);
    None for anything else, the `{...}`, `urn:uuid:` and undashed forms `uuid.UUID` would also read included."""
    return text.lower() if _UUID.fullmatch(text) else None


_FAST = random.Random(secrets.randbits(128))
os.register_at_fork(after_in_child=lambda: _FAST.seed(secrets.randbits(128)))  # workers never share a stream


class Ids:
    """All randomness behind identifiers. With a seed, the same calls give the same ids."""

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self.reseed(seed)

    def reseed(self, seed: int | None, salt: int | None = None) -> None:
        """Restart the id stream; `salt` (kept across reseeds) separates worker processes."""
        with self._lock:
            if salt is not None:
                self.salt = salt
            salt = getattr(self, "salt", 0)
            self.seed = seed
            self._rng: random.Random | None = random.Random(f"{seed}:{salt}") if seed is not None else None

    def _bytes(self, n: int) -> bytes:
        rng = self._rng
        if rng is None:
            return secrets.token_bytes(n)  # thread-safe on its own: no lock on the unseeded (usual) path
        with self._lock:
            if self._rng is None:  # reseeded to unseeded meanwhile
                return secrets.token_bytes(n)
            return self._rng.getrandbits(8 * n).to_bytes(n, "big")

    def hex(self, n_chars: int) -> str:
        return self._bytes((n_chars + 1) // 2).hex()[:n_chars]

    def sumsub_id(self) -> str:
        """A Sumsub applicant / inspection id: 24 lowercase hex characters."""
        return self.hex(24)

    def ksuid(self, epoch: float) -> str:
        """A Dakota KSUID: 27 base62 chars of a 4-byte timestamp plus 16 random bytes."""
        # The clock never passes KSUID_LAST_EPOCH (core.clock); clamped all the same, an id never fails.
        ts = min(max(0, int(epoch) - _KSUID_EPOCH), 2**32 - 1).to_bytes(4, "big")
        n = int.from_bytes(ts + self._bytes(16), "big")
        out = []
        for _ in range(13):  # two base62 digits per step (27 digits: 13 pairs and a last one)
            n, r = divmod(n, 3844)
            out.append(_BASE62_PAIRS[r])
        return _BASE62[n] + "".join(reversed(out))

    def uuid4(self) -> str:
        raw = bytearray(self._bytes(16))
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        return str(uuid.UUID(bytes=bytes(raw)))

    def secret(self, n_chars: int = 32) -> str:
        alphabet = _BASE62
        return "".join(alphabet[b % 62] for b in self._bytes(n_chars))

    def review_id(self) -> str:
        """Sumsub's short review / attempt ids (5 letters)."""
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return "".join(letters[b % 52] for b in self._bytes(5))

    def image_id(self) -> int:
        return 100_000_000 + int.from_bytes(self._bytes(4), "big") % 900_000_000

    def request_id(self) -> str:
        """A request's id (x-request-id). Unique, not secret: unseeded, it comes from a fast generator seeded
        once per process (the kernel's random bytes cost a system call per request)."""
        if self._rng is not None:
            return "req_" + self.hex(26)
        return f"req_{_FAST.getrandbits(104):026x}"

    def correlation_id(self) -> str:
        return self.hex(32)

    def share_token(self, base_url: str) -> str:
        """A Sumsub-shaped sandbox share token: `_act-sbx-jwt-<header>.<payload>.` (alg none, opaque)."""
        header = _b64(json.dumps({"alg": "none"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps({"jti": f"_act-sbx-{self.uuid4()}", "url": base_url}, separators=(",", ":")).encode())
        return f"_act-sbx-jwt-{header}.{payload}."


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
