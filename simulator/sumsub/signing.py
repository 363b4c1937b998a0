"""Sumsub's signatures: requests (hex HMAC-SHA256 over `ts + METHOD + path_with_query + raw body`) and webhooks
(`x-payload-digest`, a hex HMAC of the raw body with the webhook's secret)."""

from __future__ import annotations

import hashlib
import hmac


def signature(secret_key: str, ts: str, method: str, path_with_query: str, body: bytes = b"") -> str:
    """The X-App-Access-Sig value Sumsub expects for this request."""
    message = ts.encode() + method.upper().encode() + path_with_query.encode() + body
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    app_token: str, secret_key: str, ts: int | str, method: str, path_with_query: str, body: bytes = b""
) -> dict[str, str]:
    """The three X-App-* headers for a request."""
    ts_s = str(ts)
    return {
        "X-App-Token": app_token,
        "X-App-Access-Ts": ts_s,
        "X-App-Access-Sig": signature(secret_key, ts_s, method, path_with_query, body),
    }


def signatures_match(expected: str, given: str) -> bool:
    # Compare bytes: compare_digest refuses non-ASCII str, and a header may carry any latin-1 character.
    return hmac.compare_digest(expected.lower().encode(), given.strip().lower().encode("utf-8", "replace"))


DIGEST_ALGS = {
    "HMAC_SHA256_HEX": hashlib.sha256,
    "HMAC_SHA512_HEX": hashlib.sha512,
    "HMAC_SHA1_HEX": hashlib.sha1,
}


def sumsub_digest(secret: str, body: bytes, alg: str = "HMAC_SHA256_HEX") -> str:
    """x-payload-digest: hex HMAC of the raw body with the webhook's secret key."""
    return hmac.new(secret.encode(), body, DIGEST_ALGS[alg]).hexdigest()
