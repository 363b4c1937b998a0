"""Image ids of the documents a bulk import copies: never one a stored or a waiting (deferred) document has."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from simulator.sumsub.models import IdDoc
from tests.support import Kit


def test_copied_documents_redraw_ids_that_stored_or_waiting_documents_hold(
    kit: Kit, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = app.extensions["kyc_sandbox"]
    tokens = [kit.token("gb-passport"), kit.token("gb-passport")]
    with sb.rt.store.read() as tx:
        stored = tx.scalar(select(IdDoc.image_id))
    assert stored is not None
    real = sb.rt.ids.image_id
    draws: list[int] = []
    # The donor's copy keeps one document. Row 1 first draws a stored id, then a fresh one; row 2 first draws
    # what row 1 got (its document still waits in the chunk's deferred INSERTs), then a fresh one.
    script: Iterator[str] = iter(["stored", "fresh", "row 1's", "fresh"])

    def image_id() -> int:
        planned = next(script, "fresh")
        if planned == "stored":
            value = stored
        elif planned == "row 1's":
            value = draws[1]
        else:
            value = real()
        draws.append(value)
        return value

    monkeypatch.setattr(sb.rt.ids, "image_id", image_id)
    result = kit.bulk(tokens)
    assert result["succeeded"] == 2, result
    with sb.rt.store.read() as tx:
        ids = tx.scalars(select(IdDoc.image_id))
    assert len(ids) == len(set(ids))  # every stored document has its own id
    assert len(draws) == 4  # one document per row, each drawn twice
    assert draws[0] == stored and draws.count(stored) == 1  # drawn once, then redrawn
    assert draws[2] == draws[1] and draws[3] not in (stored, draws[1])  # row 2's clash was redrawn too
