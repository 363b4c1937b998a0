"""Bulk-import rows without savepoints: a row fails only before it writes; a failure after a spend fails the chunk."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from simulator.dakota import importer as importer_module
from simulator.dakota.importer import CHUNK_ROWS, RowFailure
from simulator.dakota.models import ApiKey, Customer
from simulator.sumsub.models import Applicant
from tests.conftest import ADMIN_KEY, Kit
from tests.dakota.test_bulk_import import token_state


def counts(app: Flask) -> tuple[int, int]:
    """(customers, recipient-side applicants) in the store."""
    sb = app.extensions["kyc_sandbox"]
    with sb.rt.store.read() as session:
        customers = session.scalar(select(func.count()).select_from(Customer))
        copies = session.scalar(select(func.count()).select_from(Applicant).where(Applicant.reuse_scope.is_not(None)))
    return int(customers or 0), int(copies or 0)


def admin_key(app: Flask) -> ApiKey:
    sb = app.extensions["kyc_sandbox"]
    with sb.rt.store.read() as session:
        key = session.get(ApiKey, ADMIN_KEY)
        assert key is not None
        return key


def test_a_row_failing_after_its_token_was_spent_fails_the_whole_chunk(
    kit: Kit, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An expected row failure raised after the spend would leave a spent token without a customer: the chunk is
    rolled back instead, and the tokens of all its rows stay usable."""
    sb = app.extensions["kyc_sandbox"]
    tokens = [kit.token("gb-passport") for _ in range(3)]
    calls = {"n": 0}
    real = importer_module.map_applicant

    def map_then_fail_on_the_second(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RowFailure("refused after the spend")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer_module, "map_applicant", map_then_fail_on_the_second)
    with pytest.raises(RuntimeError, match="after its token was spent"):
        sb.importer.import_tokens(admin_key(app), tokens)
    assert counts(app) == (0, 0)
    assert [token_state(kit, t) for t in tokens] == ["active", "active", "active"]


def test_an_unexpected_error_keeps_earlier_chunks_and_undoes_its_own(
    kit: Kit, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = app.extensions["kyc_sandbox"]
    tokens = [kit.token("gb-passport") for _ in range(CHUNK_ROWS + 2)]
    calls = {"n": 0}
    real = importer_module.map_applicant

    def fail_in_the_second_chunk(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == CHUNK_ROWS + 2:
            raise ValueError("a bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer_module, "map_applicant", fail_in_the_second_chunk)
    with pytest.raises(ValueError, match="a bug"):
        sb.importer.import_tokens(admin_key(app), tokens)
    assert counts(app) == (CHUNK_ROWS, CHUNK_ROWS)  # the first chunk, whole
    states = [token_state(kit, t) for t in tokens]
    assert states == ["redeemed"] * CHUNK_ROWS + ["active", "active"]


def test_a_company_token_is_refused_before_it_is_spent(kit: Kit, app: Flask) -> None:
    good, company = kit.token("gb-passport"), kit.token("business")
    body = kit.bulk([good, company])
    assert [r["success"] for r in body["results"]] == [True, False]
    assert "individual applicants only" in body["results"][1]["error"]
    assert body["results"][1]["name"].endswith("(from Sumsub)")
    assert [token_state(kit, t) for t in (good, company)] == ["redeemed", "active"]
    assert counts(app) == (1, 1)
