"""Sumsub's multipart uploads, read part by part as bytes (RFC 7578).

A part's filename is optional (RFC 7578 §4.2): `sumsub-node-sdk` sends the image as `form.append("content", buffer)`,
a part with no filename. A form parser that turns such parts into text fields would decode the image (and cap its
size at a text field's), so every part is read here as the exact bytes sent, from the raw body that the request's
signature covers.
"""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

MAX_PARTS = 100


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
    mimetype, options = parse_options_header(content_type or "")
    if not mimetype.startswith("multipart/"):
        raise MultipartError("Content-Type must be multipart/form-data with 'metadata' and 'content' parts")
    boundary = options.get("boundary", "")
    if not boundary:
        raise MultipartError("Content-Type multipart/form-data needs a boundary parameter")
    decoder = MultipartDecoder(boundary.encode("latin-1", "replace"), max_parts=MAX_PARTS)
    parts: dict[str, Part] = {}
    current: Field | File | None = None
    chunks: list[bytes] = []
    try:
        decoder.receive_data(body)
        decoder.receive_data(None)
        event = decoder.next_event()
        while not isinstance(event, Epilogue | NeedData):
            if isinstance(event, Field | File):
                current, chunks = event, []
            elif isinstance(event, Data) and current is not None:
                chunks.append(event.data)
                if not event.more_data and current.name not in parts:
                    parts[current.name] = Part(
                        name=current.name,
                        data=b"".join(chunks),
                        filename=current.filename if isinstance(current, File) else None,
                        content_type=current.headers.get("content-type"),
                    )
            event = decoder.next_event()
    except ValueError as exc:
        raise MultipartError(f"multipart body is malformed: {exc}") from None
    except RequestEntityTooLarge:
        raise MultipartError(f"multipart body has more than {MAX_PARTS} parts") from None
    if not isinstance(event, Epilogue):
        raise MultipartError("multipart body is malformed: it ends before its closing boundary")
    return parts
