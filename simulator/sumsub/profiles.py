"""Donor applicant profiles (fixtures/profiles/*.json) and the shortcut that makes one a verified applicant."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from simulator.core.resources import data_dir
from simulator.core.tx import Tx
from simulator.sumsub import errors as e
from simulator.sumsub import queries as q
from simulator.sumsub.backend import Sumsub


def profiles_dir() -> Path:
    return data_dir("fixtures") / "profiles"


@cache
def load_profiles(directory: str | None = None) -> dict[str, dict[str, Any]]:
    """Every profile by name (the file stem)."""
    base = Path(directory) if directory else profiles_dir()
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(base.glob("*.json")):
        out[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return out


def fake_image(seed: str) -> bytes:
    """A tiny, valid PNG whose bytes differ per seed (so uploads are not duplicates)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    digest = hashlib.sha256(seed.encode()).digest()
    raw = b"\x00" + digest[:3]  # one RGB pixel coloured by the seed
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00" + seed.encode()[:64])
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def create_from_profile(
    sumsub: Sumsub,
    tx: Tx,
    client: q.ClientRef,
    profile_name: str,
    *,
    external_user_id: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> q.ApplicantRow:
    """Create the applicant, upload its documents and apply its review, as a donor would over the API."""
    profiles = load_profiles()
    if profile_name not in profiles:
        raise e.bad_request(f"Unknown profile {profile_name!r}; known: {', '.join(sorted(profiles))}")
    prof = {**profiles[profile_name], **(overrides or {})}
    ext = external_user_id or f"{profile_name}-{sumsub.applicants.rt.ids.hex(8)}"
    body = {
        "externalUserId": ext,
        "type": prof.get("type", "individual"),
        "email": prof.get("email"),
        "phone": prof.get("phone"),
        "lang": prof.get("lang"),
        "fixedInfo": prof.get("fixedInfo", {}),
    }
    a = sumsub.applicants.create(tx, client, prof.get("level", "basic-kyc-level"), body)
    for i, doc in enumerate(prof.get("idDocs", [])):
        image = fake_image(f"{ext}:{i}:{doc.get('idDocType')}")
        sumsub.documents.add_id_doc_to(tx, a, doc, image, f"doc{i}.png", "image/png")  # `a` follows each document
    if prof.get("info") or prof.get("questionnaires"):
        a.info = {**a.info, **(prof.get("info") or {})}
        a.questionnaires = prof.get("questionnaires") or a.questionnaires
        q.save_applicant(tx, a, "info", "questionnaires")
    review = prof.get("review")
    if review:
        sumsub.documents.complete_review(tx, a, review)
    return a
