"""The multipart reader: every part's exact bytes, whatever they hold, with or without a filename."""

from __future__ import annotations

import os

import pytest

from simulator.sumsub.multipart import MultipartError, parse

BOUNDARY = "----kyc-boundary-7d9f"
TRICKY = b"\r\n\r\n--\r\n--" + BOUNDARY.encode()[:-1] + b"\r\x00\xff\n\r" + bytes(range(256)) + b" \r\n"


def body(*parts: tuple[str, bytes, str | None]) -> bytes:
    out = b""
    for name, data, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


@pytest.mark.parametrize("filename", [None, "scan.jpg"])
@pytest.mark.parametrize("data", [TRICKY, os.urandom(300_000), b"", b"\r\n"])
def test_a_part_is_read_as_the_exact_bytes_sent(data: bytes, filename: str | None) -> None:
    parts = parse(body(("metadata", b'{"idDocType": "PASSPORT"}', None), ("content", data, filename)),
                  f"multipart/form-data; boundary={BOUNDARY}")  # fmt: skip
    assert parts["content"].data == data
    assert parts["content"].filename == filename
    assert parts["metadata"].data == b'{"idDocType": "PASSPORT"}'


@pytest.mark.parametrize(
    ("raw", "ctype"),
    [
        (body(("content", b"x", None)), "text/plain"),
        (body(("content", b"x", None)), "multipart/form-data"),
        (body(("content", b"x", None))[:-20], f"multipart/form-data; boundary={BOUNDARY}"),
        (b"", f"multipart/form-data; boundary={BOUNDARY}"),
    ],
)
def test_what_is_not_a_multipart_message_is_refused(raw: bytes, ctype: str) -> None:
    with pytest.raises(MultipartError):
        parse(raw, ctype)
