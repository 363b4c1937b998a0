"""Where shipped data lives: the repo's top-level folders, or their copies bundled inside the wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def data_dir(name: str) -> Path:
    """`fixtures`, `contracts` or `scenarios`: the checkout's folder when run from source, else the wheel's."""
    repo = _PACKAGE.parent / name
    if repo.is_dir():
        return repo
    return _PACKAGE / "_bundled" / name
