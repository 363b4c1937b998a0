"""Hypothesis strategies of hostile requests for any rule of the app (tests/fuzz/test_hostile_input.py).

Hostile path ids (traversal, encoded traversal, NUL, very long, unicode, SQL-ish) mixed with real ids, hostile query
strings, bodies of wrong types, bad encodings (invalid UTF-8, BOMs, UTF-16), wrong Content-Types, sizes around
`LIMIT`, odd header values, and credentials that are missing, wrong, or valid (a correct Sumsub signature over the
hostile body, a Dakota admin key, the real X-Application-Token), so requests get past auth.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from flask import Flask
from hypothesis import strategies as st

from simulator.app import Sandbox, api_of
from tests.support.kit import ADMIN_KEY, DAKOTA_CLIENT_ID, DONOR_ID, OTHER_ORG_KEY, OTHER_RECIPIENT_ID, VIEWER_KEY
from tests.support.sumsub import multipart_doc, sign

LIMIT = 64 * 1024  # MAX_CONTENT_LENGTH for these tests (the default is 16 MiB; the rule is the same)
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")  # a variable of a Flask rule


@dataclass
class World:
    """An app with some real data in it, so hostile requests can also aim at ids that exist."""

    app: Flask
    sb: Sandbox
    ids: list[str]
    app_tokens: list[str]


HOSTILE_IDS = [
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2e%2e",
    "..",
    "%5C..%5C..%5Cwindows%5Cwin.ini",
    "%00",
    "abc%00def",
    "x" * 5000,
    "9" * 400,
    quote("ünïcödé-ид-身份-هوية"),
    quote("💥🧨"),
    quote("\u202egnp.exe"),
    quote("' OR '1'='1"),
    quote("1; DROP TABLE dakota_customers;--"),
    "%27%20OR%201%3D1--",
    "%zz",
    "%",
    "-1",
    "null",
    quote("<script>alert(1)</script>"),
    quote("{{7*7}}${7*7}"),
    "-;externalUserId=" + quote("../../x"),
    "-;externalUserId=%00",
]


HOSTILE_TEXT = [
    "",
    " ",
    "a" * 10_000,
    "ünïcödé",
    "💥",
    "\u202e",
    "' OR 1=1 --",
    "\x00",
    "\t",
    "null",
    "%00",
    "\x7f\x1b[31m",
    "../../etc/passwd",
]


QUERY_PARAMS = [
    "levelName",
    "shareToken",
    "userId",
    "applicantId",
    "forClientId",
    "ttlInSecs",
    "include",
    "limit",
    "since_id",
    "api",
    "token",
    "status",
    "kind",
    "search",
    "starting_after",
    "ending_before",
    "application_status",
    "customer_id",
]


FIELDS = [
    "tokens",
    "profile",
    "share_with",
    "client_id",
    "applicant_id",
    "for_client_id",
    "ttl_in_secs",
    "external_user_id",
    "seconds",
    "now",
    "frozen",
    "url",
    "secret",
    "alg",
    "auto_approve_after_seconds",
    "rules",
    "seed",
    "sumsub",
    "dakota",
    "state",
    "action",
    "params",
    "externalUserId",
    "type",
    "email",
    "phone",
    "fixedInfo",
    "info",
    "reviewAnswer",
    "rejectLabels",
    "reviewRejectType",
    "applicantId",
    "forClientId",
    "ttlInSecs",
    "userId",
    "levelName",
    "global",
    "event_types",
    "name",
    "customer_type",
    "external_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "nationalities",
    "address",
    "ssn",
    "employment_status",
    "document_type",
    "file",
    "attestation_type",
    "decision",
]


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(HOSTILE_TEXT)
)


json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=12,
)


json_objects = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)


RAW_BODIES = [
    b"",
    b"\xff\xfe\xfd",
    b"\xc3\x28",
    b'{"tokens": ["\xff\xfe"]}',
    b'\xef\xbb\xbf{"tokens": ["a"]}',
    '{"tokens": ["a"]}'.encode("utf-16"),
    '{"seconds": 1}'.encode("utf-32"),
    b"[" * 50_000,
    b'{"a":' * 20_000,
    b"1e999999",
    b'{"seconds": NaN}',
    b'{"seconds": -Infinity}',
    b"\x00",
    b'{"tokens": "\\u0000"}',
    b'{"tokens": ["\\ud800"]}',
    b"null",
    b"true",
    b'"just a string"',
    b"tokens=a&tokens=b",
    b"<xml/>",
]


CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=zzz",
    "ünï/cödé",
    "application/" + "x" * 2000,
]


def sized_body(n: int) -> bytes:
    """A JSON object of exactly n bytes (n >= 16)."""
    head, tail = b'{"tokens": ["', b'"]}'
    return head + b"a" * (n - len(head) - len(tail)) + tail


def multipart_body(metadata: bytes, content: bytes | None) -> tuple[bytes, str]:
    """A document upload body: a `metadata` part, then a `content` part unless None."""
    return multipart_doc(metadata, content, filename="x.png", boundary="fuzzboundary7MA4YWxkTrZu0gW")


def _json_body(draw: st.DrawFn) -> bytes:
    return json.dumps(draw(json_values), ensure_ascii=draw(st.booleans())).encode()


def _object_body(draw: st.DrawFn) -> bytes:
    return json.dumps(draw(json_objects), ensure_ascii=False).encode()


def _bom_body(draw: st.DrawFn) -> bytes:
    return b"\xef\xbb\xbf" + json.dumps(draw(json_objects)).encode()


def _raw_body(draw: st.DrawFn) -> bytes:
    return draw(st.sampled_from(RAW_BODIES))


def _binary_body(draw: st.DrawFn) -> bytes:
    return draw(st.binary(max_size=64))


def _sized_body(draw: st.DrawFn) -> bytes:
    return sized_body(draw(st.sampled_from([LIMIT - 1, LIMIT, LIMIT + 1, 2 * LIMIT])))


BODY_KINDS = {
    "json": _json_body,
    "object": _object_body,
    "bom": _bom_body,
    "raw": _raw_body,
    "bytes": _binary_body,
    "sized": _sized_body,
}


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str | None]:
    kind = draw(st.sampled_from(["json", "object", "raw", "bytes", "sized", "multipart", "bom"]))
    ctype = draw(st.sampled_from(CONTENT_TYPES))
    if kind != "multipart":
        return BODY_KINDS[kind](draw), ctype
    metadata = json.dumps(draw(json_objects)).encode() if draw(st.booleans()) else draw(st.sampled_from(RAW_BODIES))
    content = draw(st.none() | st.binary(max_size=32) | st.just(b"x" * (LIMIT + 10)))
    return multipart_body(metadata, content)


def _encode(text: str) -> str:
    return quote(text, safe="")


text_ids = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=30).map(_encode)


@st.composite
def queries(draw: st.DrawFn) -> str:
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(QUERY_PARAMS), st.sampled_from(HOSTILE_IDS) | text_ids),
            max_size=3,
        )
    )
    if draw(st.integers(0, 9)) == 0:
        return "%zz=%%&&=&" + "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in pairs)


@dataclass
class Request:
    method: str
    target: str
    body: bytes
    headers: dict[str, str]

    def __str__(self) -> str:
        shown = {k: (v if len(v) < 80 else v[:80] + "...") for k, v in self.headers.items()}
        return f"{self.method} {self.target[:300]} body={self.body[:200]!r} ({len(self.body)} bytes) headers={shown}"


@st.composite
def requests_for(draw: st.DrawFn, rule: str, method: str, world: World) -> Request:
    real_ids = st.sampled_from(world.ids)
    ident = st.sampled_from(HOSTILE_IDS) | text_ids | real_ids
    path = VARIABLE.sub(lambda _m: draw(ident), rule)
    query = draw(st.none() | queries())
    target = f"{path}?{query}" if query else path
    body, ctype = draw(bodies()) if method in BODY_METHODS or draw(st.integers(0, 4)) == 0 else (b"", None)
    headers: dict[str, str] = {}
    if ctype is not None:
        headers["Content-Type"] = ctype
    api = api_of(path)
    hostile_header = st.sampled_from(HOSTILE_TEXT)
    if api == "sumsub":
        who = draw(st.sampled_from(["valid", "valid", "valid", "none", "bad-signature", "stale", "hostile-token"]))
        client_id = draw(st.sampled_from([DONOR_ID, DAKOTA_CLIENT_ID, OTHER_RECIPIENT_ID]))
        ts = int(time.time())
        if who in ("valid", "bad-signature", "stale"):
            if who == "stale":
                ts -= 3600
            headers.update(sign(client_id, method, target, body, ts))
            if who == "bad-signature":
                headers["X-App-Access-Sig"] = "0" * 64
        elif who == "hostile-token":
            headers.update({"X-App-Token": draw(hostile_header), "X-App-Access-Ts": str(ts), "X-App-Access-Sig": "00"})
    elif api != "control":
        key = draw(st.sampled_from([ADMIN_KEY, ADMIN_KEY, OTHER_ORG_KEY, VIEWER_KEY, None]) | hostile_header)
        if key is not None:
            headers["x-api-key"] = key
        app_token = draw(st.sampled_from([*world.app_tokens, None]) | hostile_header)
        if app_token is not None:
            headers["X-Application-Token"] = app_token
        idem = draw(st.sampled_from([None, "fresh"]) | hostile_header)
        if idem is not None:
            headers["x-idempotency-key"] = (
                str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))) if idem == "fresh" else idem
            )
    for _ in range(draw(st.integers(0, 2))):
        headers[draw(st.sampled_from(["X-Junk", "User-Agent", "Accept", "X-Forwarded-For"]))] = draw(hostile_header)
    return Request(method, target, body, headers)
