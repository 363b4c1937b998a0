"""Every statement of the Sumsub fake, and the typed rows they return.

Applicants, documents and tokens are read and written as rows (dataclasses named after their columns), not ORM
objects: the services compute new values and save the fields they changed, and the redemption reads a chunk of
tokens with their donors and documents in one statement and spends them in one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update

from simulator.core.driver import prebuilt
from simulator.core.tx import Tx
from simulator.sumsub.models import Applicant, IdDoc, Level, Partnership, ShareToken, SumsubClient

APPLICANTS = cast(Table, Applicant.__table__)
DOCS = cast(Table, IdDoc.__table__)
TOKENS = cast(Table, ShareToken.__table__)
CLIENTS = cast(Table, SumsubClient.__table__)
LEVELS = cast(Table, Level.__table__)
PARTNERSHIPS = cast(Table, Partnership.__table__)


# ---------------------------------------------------------------------------------------------- reference data
@dataclass(frozen=True)
class ClientRef:
    """A Sumsub client (workspace), as kept per process (see `Store.cached`)."""

    client_id: str
    app_token: str
    secret_key: str
    role: str
    name: str
    key: str
    webhook_url: str | None
    webhook_secret: str | None
    webhook_alg: str | None

    def to_credentials(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "app_token": self.app_token,
            "secret_key": self.secret_key,
            "role": self.role,
        }


@dataclass(frozen=True)
class LevelRef:
    """A verification level: its steps (`doc_sets`, Sumsub's shape) in order."""

    name: str
    doc_sets: tuple[dict[str, Any], ...]
    description: str

    def step(self, set_type: str) -> dict[str, Any] | None:
        return next((dict(s) for s in self.doc_sets if s.get("idDocSetType") == set_type), None)

    def step_types(self) -> list[str]:
        return [str(s["idDocSetType"]) for s in self.doc_sets]


def all_clients(tx: Tx) -> dict[str, ClientRef]:
    names = [f.name for f in fields(ClientRef)]
    return {r["client_id"]: ClientRef(**r) for r in tx.mappings(select(*(CLIENTS.c[n] for n in names)))}


def all_levels(tx: Tx) -> dict[str, LevelRef]:
    rows = tx.mappings(select(LEVELS.c.name, LEVELS.c.doc_sets, LEVELS.c.description))
    return {r["name"]: LevelRef(r["name"], tuple(r["doc_sets"]), r["description"]) for r in rows}


def all_partnerships(tx: Tx) -> frozenset[tuple[str, str]]:
    rows = tx.mappings(select(PARTNERSHIPS.c.donor_client_id, PARTNERSHIPS.c.recipient_client_id))
    return frozenset((r["donor_client_id"], r["recipient_client_id"]) for r in rows)


def client_entity(tx: Tx, client_id: str) -> SumsubClient | None:
    """The client's row for changing its webhook configuration (the control plane)."""
    return tx.get(SumsubClient, client_id, for_update=True)


def client_entities(tx: Tx) -> list[SumsubClient]:
    return tx.scalars(select(SumsubClient).order_by(SumsubClient.client_id))


# ---------------------------------------------------------------------------------------------- applicants
@dataclass
class ApplicantRow:
    """An applicant's columns. Services change fields and `save_applicant` the ones they changed."""

    id: str
    client_id: str
    external_user_id: str
    inspection_id: str
    level_name: str
    type: str
    email: str | None
    phone: str | None
    lang: str | None
    info: dict[str, Any]
    fixed_info: dict[str, Any]
    review: dict[str, Any]
    steps: dict[str, Any]
    questionnaires: list[Any]
    active: int
    created_at: float
    source_applicant_id: str | None = None
    reuse_scope: str | None = None

    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_APPLICANT_COLUMNS = tuple(APPLICANTS.c[f.name] for f in fields(ApplicantRow))
# Statements are built once (with bound parameters): building one costs three times what running it does.
_APPLICANT = prebuilt(select(*_APPLICANT_COLUMNS).where(APPLICANTS.c.id == bindparam("id")))
_APPLICANT_LOCKED = prebuilt(_APPLICANT.with_for_update())
_BY_EXTERNAL_ID = (APPLICANTS.c.client_id == bindparam("client_id")) & (
    APPLICANTS.c.external_user_id == bindparam("ext")
)
_APPLICANT_BY_EXTERNAL_ID = prebuilt(select(*_APPLICANT_COLUMNS).where(_BY_EXTERNAL_ID))
_APPLICANT_ID_BY_EXTERNAL_ID = prebuilt(select(APPLICANTS.c.id).where(_BY_EXTERNAL_ID))
_SAVES: dict[tuple[str, ...], Any] = {}


def applicant(tx: Tx, applicant_id: str, *, for_update: bool = False) -> ApplicantRow | None:
    row = tx.mapping(_APPLICANT_LOCKED if for_update and tx.locks_rows else _APPLICANT, {"id": applicant_id})
    return ApplicantRow(**row) if row is not None else None


def applicant_by_external_id(tx: Tx, client_id: str, external_user_id: str) -> ApplicantRow | None:
    row = tx.mapping(_APPLICANT_BY_EXTERNAL_ID, {"client_id": client_id, "ext": external_user_id})
    return ApplicantRow(**row) if row is not None else None


def applicant_id_by_external_id(tx: Tx, client_id: str, external_user_id: str) -> str | None:
    found: str | None = tx.scalar(_APPLICANT_ID_BY_EXTERNAL_ID, {"client_id": client_id, "ext": external_user_id})
    return found


def insert_applicant(tx: Tx, a: ApplicantRow, *, later: bool = False) -> None:
    """`later`: with the transaction's other queued rows (nothing reads it back before the end)."""
    if later:
        tx.insert_later(APPLICANTS, a.values())
    else:
        tx.insert(APPLICANTS, a.values())


def save_applicant(tx: Tx, a: ApplicantRow, *names: str) -> None:
    """Store the named fields of `a` (one statement per set of fields, built once)."""
    stmt = _SAVES.get(names)
    if stmt is None:
        values = {n: bindparam(f"v_{n}", type_=APPLICANTS.c[n].type) for n in names}
        stmt = _SAVES[names] = prebuilt(update(APPLICANTS).where(APPLICANTS.c.id == bindparam("b_id")).values(values))
    tx.run(stmt, {"b_id": a.id, **{f"v_{n}": getattr(a, n) for n in names}})


# ---------------------------------------------------------------------------------------------- documents
@dataclass(frozen=True)
class DocRow:
    """One uploaded image of a document (its bytes included): what a redemption copies."""

    image_id: int
    id_doc_type: str
    id_doc_sub_type: str | None
    country: str | None
    meta: dict[str, Any]
    file_name: str | None
    content_type: str | None
    content: bytes


DOC_FIELDS = tuple(f.name for f in fields(DocRow))
_DOC_COLUMNS = tuple(DOCS.c[name] for name in DOC_FIELDS)


_DOC_METAS = prebuilt(select(DOCS.c.meta).where(DOCS.c.applicant_id == bindparam("applicant_id")))
_IMAGE_IDS_TAKEN = select(DOCS.c.image_id).where(DOCS.c.image_id.in_(bindparam("ids", expanding=True)))
_IMAGE_ID_TAKEN = prebuilt(select(DOCS.c.image_id).where(DOCS.c.image_id == bindparam("id")))


def document_digests(tx: Tx, applicant_id: str) -> set[str]:
    """The sha256 of every image the applicant has (the duplicate check)."""
    metas = tx.column(_DOC_METAS, {"applicant_id": applicant_id})
    return {str(m.get("sha256")) for m in metas if isinstance(m, dict)}


def image_ids_taken(tx: Tx, image_ids: list[int]) -> set[int]:
    if len(image_ids) == 1:  # an upload's one new id: a statement without an expanding IN (the driver path's)
        return set(tx.column(_IMAGE_ID_TAKEN, {"id": image_ids[0]}))
    return set(tx.column(_IMAGE_IDS_TAKEN, {"ids": image_ids}))


def insert_documents(tx: Tx, rows: list[dict[str, Any]], *, later: bool = False) -> None:
    if later:
        tx.insert_later(DOCS, rows)
    else:
        tx.insert(DOCS, rows)


# ---------------------------------------------------------------------------------------------- share tokens
@dataclass(frozen=True)
class TokenRow:
    token: str
    donor_client_id: str
    applicant_id: str
    for_client_id: str
    ttl_seconds: int
    created_at: float
    expires_at: float
    redeemed_at: float | None
    redeemed_by: str | None
    redeemed_applicant_id: str | None


_TOKEN_COLUMNS = tuple(TOKENS.c[f.name] for f in fields(TokenRow))


def insert_token(tx: Tx, t: TokenRow) -> None:
    tx.insert(TOKENS, {f.name: getattr(t, f.name) for f in fields(t)})


_TOKEN = prebuilt(select(*_TOKEN_COLUMNS).where(TOKENS.c.token == bindparam("token")))


def token(tx: Tx, value: str) -> TokenRow | None:
    row = tx.mapping(_TOKEN, {"token": value})
    return TokenRow(**row) if row is not None else None


_TOKEN_READ = (
    select(
        *_TOKEN_COLUMNS,
        *(c.label(f"a_{c.key}") for c in _APPLICANT_COLUMNS),
        *(c.label(f"d_{c.key}") for c in _DOC_COLUMNS),
    )
    .select_from(TOKENS.outerjoin(APPLICANTS, APPLICANTS.c.id == TOKENS.c.applicant_id))
    .outerjoin(DOCS, DOCS.c.applicant_id == APPLICANTS.c.id)
    .order_by(TOKENS.c.token, DOCS.c.image_id)
)
_TO_REDEEM = _TOKEN_READ.where(TOKENS.c.token.in_(bindparam("tokens", expanding=True)))
_TO_REDEEM_LOCKED = _TO_REDEEM.with_for_update(of=TOKENS)
# One token (a one-token import, a Sumsub reuse): no expanding IN, so the driver path's (core.driver).
_ONE_TO_REDEEM = prebuilt(_TOKEN_READ.where(TOKENS.c.token == bindparam("token")))


@dataclass
class TokenRead:
    """A token to redeem, with its donor applicant and the donor's documents (in image id order)."""

    token: TokenRow
    donor: ApplicantRow | None
    documents: list[DocRow] = field(default_factory=list)


def tokens_to_redeem(tx: Tx, values: list[str]) -> dict[str, TokenRead]:
    """The tokens (those that exist), each with its donor and the donor's documents: one statement for a whole
    chunk of a bulk import. On PostgreSQL the token rows stay locked until the transaction ends, so the spend that
    follows cannot lose a race."""
    wanted = sorted(set(values))
    if len(wanted) == 1 and not tx.locks_rows:
        rows = tx.mappings(_ONE_TO_REDEEM, {"token": wanted[0]})
    else:
        rows = tx.mappings(_TO_REDEEM_LOCKED if tx.locks_rows else _TO_REDEEM, {"tokens": wanted})
    found: dict[str, TokenRead] = {}
    for row in rows:
        m = row
        read = found.get(m["token"])
        if read is None:
            donor = ApplicantRow(**{c.key: m[f"a_{c.key}"] for c in _APPLICANT_COLUMNS}) if m["a_id"] else None
            read = found[m["token"]] = TokenRead(TokenRow(**{c.key: m[c.key] for c in _TOKEN_COLUMNS}), donor)
        if m["d_image_id"] is not None:
            read.documents.append(DocRow(**{c.key: m[f"d_{c.key}"] for c in _DOC_COLUMNS}))
    return found


_SPEND = prebuilt(
    update(TOKENS)
    .where(TOKENS.c.token == bindparam("b_token"), TOKENS.c.redeemed_at.is_(None))
    .values(
        redeemed_at=bindparam("b_at"), redeemed_by=bindparam("b_by"), redeemed_applicant_id=bindparam("b_applicant")
    )
)


def spend(tx: Tx, spends: list[tuple[str, float, str, str]]) -> None:
    """Mark tokens redeemed: (token, at, by client, new applicant id) each, in one statement. Only tokens read with
    `tokens_to_redeem` in this transaction (unspent and, on PostgreSQL, locked): the conditional UPDATE cannot miss."""
    if spends:
        tx.run(_SPEND, [{"b_token": t, "b_at": at, "b_by": by, "b_applicant": a} for t, at, by, a in spends])
