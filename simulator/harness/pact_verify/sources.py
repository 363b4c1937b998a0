"""Pact files (V2 to V4, HTTP and message interactions): read, checked for something to verify, and listed."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PactSourceError(Exception):
    """The pact source is missing, unreadable or holds nothing to verify."""


@dataclass(frozen=True)
class PactInteraction:
    description: str
    kind: str  # "HTTP" | "message"
    states: tuple[str, ...]
    expected: Any  # the expected message contents (messages only)
    params: tuple[dict[str, Any], ...] = ()  # each state's params, in order


@dataclass(frozen=True)
class PactFile:
    path: Path
    consumer: str
    provider: str
    interactions: tuple[PactInteraction, ...]

    @property
    def messages(self) -> list[PactInteraction]:
        return [i for i in self.interactions if i.kind == "message"]


def _interaction(raw: dict[str, Any], message_pact: bool) -> PactInteraction:
    kind_raw = str(raw.get("type", ""))
    is_message = message_pact or "Messages" in kind_raw or ("contents" in raw and "request" not in raw)
    declared = raw.get("providerStates") or ([{"name": raw["providerState"]}] if raw.get("providerState") else [])
    states = tuple(str(s.get("name", "")) if isinstance(s, dict) else str(s) for s in declared)
    params = tuple(
        dict(s["params"]) if isinstance(s, dict) and isinstance(s.get("params"), dict) else {} for s in declared
    )
    expected: Any = None
    if is_message:
        contents = raw.get("contents")
        if isinstance(contents, dict) and "content" in contents:  # V4: {"content", "contentType", "encoded"}
            contents = contents["content"]
        if isinstance(contents, str):
            with contextlib.suppress(ValueError):
                contents = json.loads(contents)
        expected = contents
    kind = "message" if is_message else "HTTP"
    return PactInteraction(str(raw.get("description", "")), kind, states, expected, params)


def load_pact(path: Path) -> PactFile:
    """Parse one pact file; raise PactSourceError when it is not a pact or holds no interactions."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PactSourceError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PactSourceError(f"{path}: not a readable JSON pact file ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("consumer"), dict) or not data.get("provider"):
        raise PactSourceError(f"{path}: not a pact file (no consumer/provider)")
    raws = data.get("interactions")
    message_pact = False
    if raws is None and isinstance(data.get("messages"), list):  # V3 message pact
        raws, message_pact = data["messages"], True
    if not isinstance(raws, list) or not raws:
        raise PactSourceError(f"{path}: the pact has no interactions: nothing would be verified")
    interactions = tuple(_interaction(r, message_pact) for r in raws if isinstance(r, dict))
    if not interactions:
        raise PactSourceError(f"{path}: the pact has no interactions: nothing would be verified")
    return PactFile(path, str(data["consumer"].get("name", "")), str(data["provider"].get("name", "")), interactions)


def load_pacts(sources: list[Path], provider: str | None = None) -> list[PactFile]:
    """Every pact under `sources` (files, or directories of *.json), optionally only those for `provider`."""
    if not sources:
        raise PactSourceError("no pact file or directory given")
    pacts: list[PactFile] = []
    for src in sources:
        if src.is_dir():
            files = sorted(src.glob("*.json"))
            if not files:
                raise PactSourceError(f"{src}: no pact files (*.json) in this directory")
            pacts.extend(load_pact(f) for f in files)
        elif src.exists():
            pacts.append(load_pact(src))
        else:
            raise PactSourceError(f"{src}: no such file or directory")
    if provider is not None:
        found = sorted({p.provider for p in pacts})
        pacts = [p for p in pacts if p.provider == provider]
        if not pacts:
            raise PactSourceError(f"no pact for provider {provider!r} (the pacts name: {', '.join(found)})")
    return pacts
