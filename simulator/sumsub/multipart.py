"""Sumsub's multipart uploads, read part by part as bytes (RFC 7578).

A part's filename is optional (RFC 7578 §4.2): `sumsub-node-sdk` sends the image as `form.append("content", buffer)`,
a part with no filename. A form parser that turns such parts into text fields would decode the image (and cap its
size at a text field's), so every part is read here as the exact bytes sent, from the raw body that the request's
signature covers, with the standard library's MIME parser (`email`, which reads multipart/form-data as any other
multipart message).
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.errors import CloseBoundaryNotFoundDefect, MultipartInvariantViolationDefect, NoBoundaryInMultipartDefect
from email.message import EmailMessage
from email.parser import BytesParser

MAX_PARTS = 100
_FATAL = (CloseBoundaryNotFoundDefect, MultipartInvariantViolationDefect, NoBoundaryInMultipartDefect)


class MultipartError(ValueError):
    """The body is not a readable multipart/form-data message."""


@dataclass(frozen=True)
class Part:
    name: str
    data: bytes
    filename: str | None
    content_type: str | None


def parse(body: bytes, content_type: str | None) -> dict[str, Part]:
    """The parts of a multipart/form-data `body` by name (the first of a repeated name), each as its raw bytes."""
    ctype = (content_type or "").strip()
    if not ctype.lower().startswith("multipart/"):
        raise MultipartError("Content-Type must be multipart/form-data with 'metadata' and 'content' parts")
    if "\r" in ctype or "\n" in ctype:
        raise MultipartError("Content-Type must be a single header line")
    head = f"Content-Type: {ctype}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.get_boundary():
        raise MultipartError("Content-Type multipart/form-data needs a boundary parameter")
    if any(isinstance(d, _FATAL) for d in message.defects) or not message.is_multipart():
        raise MultipartError("multipart body is malformed: it ends before its closing boundary or has no parts")
    parts: dict[str, Part] = {}
    found = list(message.iter_parts()) if isinstance(message, EmailMessage) else []
    if len(found) > MAX_PARTS:
        raise MultipartError(f"multipart body has more than {MAX_PARTS} parts")
    for part in found:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or name in parts:
            continue
        payload = part.get_payload(decode=True)
        parts[name] = Part(
            name=name,
            data=payload if isinstance(payload, bytes) else b"",
            filename=part.get_filename(),
            content_type=part.get("content-type"),
        )
    return parts
