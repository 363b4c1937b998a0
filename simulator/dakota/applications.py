"""Customers and applications: reads, Dakota's response shapes, validation state and derived statuses."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from simulator.core.clock import iso
from simulator.core.ids import Ids
from simulator.core.runtime import Runtime
from simulator.core.tx import Tx
from simulator.dakota import errors as p
from simulator.dakota import queries as q

REQUIRED_ATTESTATIONS = ("e_sign", "terms_of_service", "privacy_policy", "information_accuracy")
# Dakota's IndividualDocumentType enum, each type with the requirement it meets (one table: the upload's accepted
# types, what a document counts for, how it is listed and the missing documents all derive from it).
IDENTITY = "individual_identity"
PROOF_OF_ADDRESS = "individual_proof_of_address"
SOURCE_OF_WEALTH = "individual_source_of_wealth"
DOCUMENT_PURPOSES: dict[str, str] = {
    "passport": IDENTITY,
    "drivers_license_front": IDENTITY,
    "drivers_license_back": IDENTITY,
    "residence_permit_front": IDENTITY,
    "residence_permit_back": IDENTITY,
    "proof_of_address": PROOF_OF_ADDRESS,
    "bank_statement": PROOF_OF_ADDRESS,
    "utility_bill": PROOF_OF_ADDRESS,
    "source_of_wealth": SOURCE_OF_WEALTH,
    "payslip": SOURCE_OF_WEALTH,
    "employment_contract": SOURCE_OF_WEALTH,
    "income_verification_letter": SOURCE_OF_WEALTH,
    "savings_statement": SOURCE_OF_WEALTH,
    "crypto_statement": SOURCE_OF_WEALTH,
    "investment_statement": SOURCE_OF_WEALTH,
}
IDENTITY_DOCS = tuple(t for t, purpose in DOCUMENT_PURPOSES.items() if purpose == IDENTITY)
ADDRESS_DOCS = tuple(t for t, purpose in DOCUMENT_PURPOSES.items() if purpose == PROOF_OF_ADDRESS)
WEALTH_DOCS = tuple(t for t, purpose in DOCUMENT_PURPOSES.items() if purpose == SOURCE_OF_WEALTH)
# The spec's UploadedDocument.document_type enum has the identity types but only one type of each other purpose:
# `uploaded_documents` lists any other type as that purpose's type (a utility bill as `bank_statement`).
_LISTED_AS = {PROOF_OF_ADDRESS: "bank_statement", SOURCE_OF_WEALTH: "source_of_wealth"}
_UPLOADED_ENUM = {*IDENTITY_DOCS, *_LISTED_AS.values()}


def listed_type(doc_type: str) -> str:
    """How `validation...uploaded_documents` names an uploaded document of `doc_type`."""
    return doc_type if doc_type in _UPLOADED_ENUM else _LISTED_AS[DOCUMENT_PURPOSES[doc_type]]


INCLUDE_VALUES = ("entities", "validation", "edd", "attestations", "all")
# What GET /applications/{id} answers without `include`: the spec's own example of it carries `entities`, and
# clients that send no `include` (Dakota's TypeScript SDK) would otherwise never see the imported data.
DEFAULT_INCLUDE = frozenset({"entities"})
LIST_STATUSES = ("pending", "submitted", "completed")


def parse_include(raw: str | None) -> set[str] | None:
    """`?include=entities,validation` as a set (None when not sent); an unknown section is 400."""
    if raw is None:
        return None
    include = {x.strip() for x in raw.split(",") if x.strip()}
    unknown = include - set(INCLUDE_VALUES)
    if unknown:
        raise p.invalid(
            f"include: unknown value(s) {', '.join(sorted(unknown))}; use {', '.join(INCLUDE_VALUES)}", "include"
        )
    return include


APPLICATION_TTL_SECONDS = 30 * 24 * 3600  # an application link works for 30 days


def new_customer(
    ids: Ids,
    now: float,
    organization_id: str,
    *,
    customer_type: str,
    name: str,
    email: str | None,
    external_id: str | None,
    source: str,
    individual: dict[str, Any],
    sumsub: dict[str, Any] | None,
    flags: dict[str, Any],
) -> tuple[q.CustomerRow, q.ApplicationRow]:
    """A new customer and its pending application (not stored: the caller inserts them and emits the event)."""
    customer_id, app_id = ids.ksuid(now), ids.ksuid(now)
    app = q.ApplicationRow(
        id=app_id,
        organization_id=organization_id,
        customer_id=customer_id,
        application_type=customer_type,
        status="pending",
        decision=None,
        decision_method=None,
        token=ids.secret(43),
        individual_id=ids.ksuid(now),
        individual=individual,
        sumsub=sumsub,
        documents=[],
        attestations={},
        flags=flags,
        version=1,
        created_at=now,
        updated_at=now,
        submitted_at=None,
        auto_decide_at=None,
        expires_at=now + APPLICATION_TTL_SECONDS,
    )
    customer = q.CustomerRow(
        id=customer_id,
        organization_id=organization_id,
        name=name,
        email=email,
        customer_type=customer_type,
        kyb_status="pending",
        external_id=external_id,
        application_id=app_id,
        source=source,
        created_at=now,
        updated_at=now,
    )
    return customer, app


def kyc_status(app: q.ApplicationState | q.ApplicationRow | None) -> str:
    """Dakota's derivation: decision first, then an open application means pending, else not_started."""
    if app is None:
        return "not_started"
    if app.decision == "approved":
        return "approved"
    if app.decision in ("declined", "auto_declined"):
        return "rejected"
    if app.decision == "withdrawn":
        return "expired"
    return "pending"


class Applications:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    # ------------------------------------------------------------------ lookups
    def customer_view(self, key: q.KeyRow, customer_id: str) -> dict[str, Any]:
        """GET /customers/{id}: the organisation's customer in Dakota's shape, read in one statement."""
        found = q.customer_view(self.rt.store, customer_id) if len(customer_id) <= 64 else None
        if found is None or found[0].organization_id != key.organization_id:
            raise p.not_found("Customer")
        return self.customer_shape(*found)

    def application_by_token(self, tx: Tx, application_id: str, token: str | None) -> q.ApplicationRow:
        """X-Application-Token auth inside a transaction (locked for the change that follows)."""
        return self._by_token(
            application_id,
            token,
            load=lambda: q.application(tx, application_id, for_update=True),
            now=lambda: self.rt.clock.now(tx),
        )

    def application_view(
        self, application_id: str, token: str | None, include: Collection[str] | None, *, api_key_sent: bool = False
    ) -> dict[str, Any]:
        """GET /applications/{id}: `application_by_token` then `application_dict` with the sections `include` names
        (None: no `include` was sent, so `DEFAULT_INCLUDE`), read in one statement outside any transaction. An
        x-api-key without the application's token is 403: this operation takes the token only."""
        if not token and api_key_sent:
            raise p.DakotaProblem(
                403, "This operation authenticates with X-Application-Token (see the customer's application_url)"
            )
        app = self._by_token(
            application_id,
            token,
            load=lambda: q.application_outside_tx(self.rt.store, application_id),
            now=self.rt.clock.now,
        )
        return self.application_dict(app, DEFAULT_INCLUDE if include is None else include)

    def _by_token(
        self,
        application_id: str,
        token: str | None,
        *,
        load: Callable[[], q.ApplicationRow | None],
        now: Callable[[], float],
    ) -> q.ApplicationRow:
        if not token:
            raise p.unauthorized("X-Application-Token header is required for this operation")
        app = load() if len(application_id) <= 64 else None
        if app is None:
            if not q.token_known(self.rt.store, token):
                raise p.unauthorized("Invalid application token")
            raise p.not_found("Application")
        if app.token != token:
            raise p.unauthorized("Invalid application token for this application")
        if now() >= app.expires_at:
            raise p.unauthorized("Application token expired")
        return app

    # ------------------------------------------------------------------ shapes
    def application_url(self, app: q.ApplicationState | q.ApplicationRow) -> str:
        return f"{self.rt.settings.resolved_base_url}/applications/{app.id}?token={app.token}"

    def customer_shape(self, c: q.CustomerRow, app: q.ApplicationState | None) -> dict[str, Any]:
        """Dakota's Customer object."""
        out: dict[str, Any] = {
            "id": c.id,
            "name": c.name,
            "customer_type": c.customer_type,
            "kyb_status": c.kyb_status,
            "kyc_status": kyc_status(app),
            "kyb_links": [],
            "provider_statuses": [],
        }
        if c.email:
            out["email"] = c.email
        if app is not None:
            out["application_id"] = app.id
            out["application_status"] = app.status
            if app.decision:
                out["decision"] = app.decision
            out["application_url"] = self.application_url(app)
        out["created_at"] = int(c.created_at)
        out["updated_at"] = int(c.updated_at)
        out["is_sub_client"] = False
        return out

    def list_item(self, app: q.ApplicationRow) -> dict[str, Any]:
        ind = app.individual
        out: dict[str, Any] = {
            # `id` is not in the spec's ApplicationListItem (which allows it): clients that page on each item's `id`
            # (Dakota's TypeScript SDK) need it.
            "id": app.id,
            "application_id": app.id,
            "application_type": app.application_type,
            "application_status": app.status,
        }
        if app.decision:
            out["application_decision"] = app.decision
        out["individuals"] = [
            {
                "id": app.individual_id,
                "first_name": ind.get("first_name", ""),
                "last_name": ind.get("last_name", ""),
            }
        ]
        out["created_at"] = iso(app.created_at)
        out["updated_at"] = iso(app.updated_at)
        if app.submitted_at is not None:
            out["submitted_at"] = iso(app.submitted_at)
        return out

    def application_dict(self, app: q.ApplicationRow, include: Collection[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "application_id": app.id,
            "application_type": app.application_type,
            "application_status": app.status,
            "application_created_at": iso(app.created_at),
            "application_updated_at": iso(app.updated_at),
            "application_submitted_at": iso(app.submitted_at) if app.submitted_at is not None else None,
            "application_decision": "declined" if app.decision == "auto_declined" else app.decision,
            "decision_method": app.decision_method,
            "decision_rule_version": None,
            "poa_status": self.poa_status(app),
        }
        everything = "all" in include
        if app.application_type == "business":
            # Token sharing and this sandbox cover individuals; business applications stay bare records.
            if everything or "entities" in include:
                out["entities"] = {}
            if everything or "validation" in include:
                out["validation"] = {
                    "ready": False,
                    "status_message": "Business onboarding is not simulated by this sandbox",
                    "attestations": {"completed": [], "missing": list(REQUIRED_ATTESTATIONS)},
                }
            return out
        if everything or "entities" in include:
            # A manual application has no individual on file until its details are PUT.
            out["entities"] = {"primary_individual": self.individual_entity(app)} if app.individual else {}
        if everything or "validation" in include:
            out["validation"] = self.validation(app)
        if everything or "attestations" in include:
            out["attestations"] = {
                t: {"attested_at": iso(v["timestamp"]), "attested_by": v["attested_by"]}
                for t, v in app.attestations.items()
            }
        return out

    def poa_status(self, app: q.ApplicationRow) -> str:
        docs = [d for d in app.documents if d.get("document_type") in ADDRESS_DOCS]
        if not docs:
            return "missing"
        return "approved" if any(d.get("status") == "verified" for d in docs) else "submitted_pending_review"

    def individual_entity(self, app: q.ApplicationRow) -> dict[str, Any]:
        ind = dict(app.individual)
        out: dict[str, Any] = {"id": app.individual_id}
        for k in (
            "first_name",
            "last_name",
            "date_of_birth",
            "nationalities",
            "address",
            "email_address",
            "phone_number",
            "employment_status",
            "purpose_of_account",
            "source_of_wealth",
            "ssn",
        ):
            if ind.get(k) not in (None, "", []) or k in ("first_name", "last_name", "address"):
                out[k] = ind.get(k, "")
        out["decision"] = app.decision
        out["decision_reason"] = None
        out["decision_by"] = None
        out["decision_at"] = None
        if app.sumsub:
            s = app.sumsub
            review = dict(s.get("review", {}))
            out["sumsub_verification"] = {
                "applicant_id": app.individual_id,
                "provider_applicant_id": s["provider_applicant_id"],
                "entity_type": "individual",
                "type": "individual",
                "decision": None,
                "review": review,
                "sumsub_review_status": s.get("sumsub_review_status"),
            }
        return out

    # ------------------------------------------------------------------ validation
    def missing_fields(self, app: q.ApplicationRow) -> list[str]:
        ind = app.individual
        missing: list[str] = []
        for k in ("first_name", "last_name", "date_of_birth", "email_address"):
            if not ind.get(k):
                missing.append(k)
        if not ind.get("nationalities"):
            missing.append("nationalities")
        addr = ind.get("address") or {}
        placeholder = (
            app.flags.get("address_placeholder") or addr.get("country") == self.rt.settings.address_placeholder_country
        )
        if placeholder:
            missing.append("address")
        else:
            for k in ("street1", "city", "country"):
                if not addr.get(k):
                    missing.append(f"address.{k}")
        for k in ("employment_status", "purpose_of_account", "source_of_wealth"):
            if not ind.get(k):
                missing.append(k)
        if self.is_us_person(app) and not ind.get("ssn"):
            missing.append("ssn")
        return missing

    def is_us_person(self, app: q.ApplicationRow) -> bool:
        ind = app.individual
        return "US" in (ind.get("nationalities") or []) or (ind.get("address") or {}).get("country") == "US"

    def missing_documents(self, app: q.ApplicationRow) -> list[dict[str, Any]]:
        types = {d.get("document_type") for d in app.documents}
        out: list[dict[str, Any]] = []
        if not types & set(IDENTITY_DOCS):
            out.append(
                {
                    "purpose": IDENTITY,
                    "accepted_types": ["passport", "drivers_license_front", "residence_permit_front"],
                    "description": "A government-issued identity document (passport, driver's license or "
                    "residence permit)",
                    "required": True,
                }
            )
        if not types & set(WEALTH_DOCS):
            out.append(
                {
                    "purpose": SOURCE_OF_WEALTH,
                    "accepted_types": list(WEALTH_DOCS),
                    "description": "A document evidencing the source of wealth (never transferred from Sumsub)",
                    "required": True,
                }
            )
        if not types & set(ADDRESS_DOCS):
            out.append(
                {
                    "purpose": PROOF_OF_ADDRESS,
                    "accepted_types": list(ADDRESS_DOCS),
                    "description": "Proof of address (optional: without it a $3,000 rolling 7-day limit applies)",
                    "required": False,
                }
            )
        return out

    def missing_attestations(self, app: q.ApplicationRow) -> list[str]:
        return [t for t in REQUIRED_ATTESTATIONS if t not in app.attestations]

    def validation(self, app: q.ApplicationRow) -> dict[str, Any]:
        fields = self.missing_fields(app)
        docs_missing = self.missing_documents(app)
        docs_ready = not any(d["required"] for d in docs_missing)
        atts = self.missing_attestations(app)
        details_ready = not fields
        ready = details_ready and docs_ready and not atts
        name = " ".join(x for x in (app.individual.get("first_name"), app.individual.get("last_name")) if x)
        return {
            "ready": ready,
            "status_message": self.status_message(fields, docs_missing, atts),
            "primary_individual": {
                "id": app.individual_id,
                "ready": details_ready and docs_ready,
                "details": {"ready": details_ready, "missing_fields": fields},
                "documents": {
                    "uploaded_documents": [
                        {
                            "document_id": d["document_id"],
                            "document_type": listed_type(d["document_type"]),
                            "status": d["status"],
                            "uploaded_at": iso(d["uploaded_at"]),
                        }
                        for d in app.documents
                    ],
                    "missing_documents": docs_missing,
                    "ready": docs_ready,
                },
                "individual_name": name or "Unknown",
            },
            "attestations": {
                "completed": [
                    {"type": t, "attested_at": iso(v["timestamp"]), "attested_by": v["attested_by"]}
                    for t, v in app.attestations.items()
                ],
                "missing": atts,
            },
        }

    @staticmethod
    def status_message(fields: list[str], docs: list[dict[str, Any]], atts: list[str]) -> str:
        waiting = []
        if fields:
            waiting.append("individual details (" + ", ".join(fields) + ")")
        req_docs = [d["purpose"] for d in docs if d["required"]]
        if req_docs:
            waiting.append("individual documents (" + ", ".join(req_docs) + ")")
        if atts:
            waiting.append("attestations (" + ", ".join(atts) + ")")
        return "Ready to submit" if not waiting else "Waiting on: " + "; ".join(waiting)

    # ------------------------------------------------------------------ lists
    def list_customers(self, tx: Tx, key: q.KeyRow, args: dict[str, str]) -> dict[str, Any]:
        # Filters, sorts and pages work on the customers and their applications' states (none of the
        # applications' JSON): an organisation's whole list is read for every page, so it must stay cheap.
        org = key.organization_id
        rows = q.customers(tx, org, args.get("external_id") or None)
        apps = q.application_states(tx, org)
        search = (args.get("search") or "").strip().lower()
        if search:
            rows = [
                c
                for c in rows
                if search in c.name.lower() or search in (c.email or "").lower() or search == c.id.lower()
            ]
        kyb = _csv(args.get("kyb_statuses")) | ({args["kyb_status"]} if args.get("kyb_status") else set())
        if kyb:
            rows = [c for c in rows if c.kyb_status in kyb]
        kyc = _csv(args.get("kyc_statuses"))
        if kyc:
            rows = [c for c in rows if kyc_status(apps.get(c.application_id or "")) in kyc]
        app_statuses = _csv(args.get("application_statuses"))
        if app_statuses:
            rows = [c for c in rows if c.application_id in apps and apps[c.application_id].status in app_statuses]
        sort_by = args.get("sort_by") or "name"
        sort_dir = args.get("sort_dir") or "asc"
        if sort_by not in (
            "application_status",
            "created_at",
            "customer_type",
            "id",
            "kyb_status",
            "kyc_status",
            "name",
        ):
            raise p.invalid(
                "sort_by must be one of application_status, created_at, customer_type, id, kyb_status, "
                "kyc_status, name",
                "sort_by",
            )
        if sort_dir not in ("asc", "desc"):
            raise p.invalid("sort_dir must be asc or desc", "sort_dir")

        def sort_key(c: q.CustomerRow) -> tuple[Any, str]:
            app = apps.get(c.application_id or "")
            value: Any = {
                "application_status": app.status if app else "",
                "created_at": c.created_at,
                "customer_type": c.customer_type,
                "id": c.id,
                "kyb_status": c.kyb_status,
                "kyc_status": kyc_status(app),
                "name": c.name.lower(),
            }[sort_by]
            return (value, c.id)

        rows.sort(key=sort_key, reverse=sort_dir == "desc")
        page, meta = paginate(rows, args, lambda c: c.id)
        return {"data": [self.customer_shape(c, apps.get(c.application_id or "")) for c in page], "meta": meta}

    def list_applications(self, tx: Tx, key: q.KeyRow, args: dict[str, str]) -> dict[str, Any]:
        app_type = args.get("type")
        if app_type is not None and app_type not in ("business", "individual"):
            raise p.invalid("type must be business or individual", "type")
        status = args.get("status")
        if status is not None and status not in LIST_STATUSES:
            raise p.invalid("status must be one of pending, submitted, completed", "status")
        # Filtered, sorted and paged on four columns; only the page's applications are loaded whole.
        rows = q.application_list(tx, key.organization_id)
        if app_type:
            rows = [a for a in rows if a.application_type == app_type]
        if status:
            rows = [a for a in rows if a.status == status]
        rows.sort(key=lambda a: (-a.created_at, a.id))
        page, meta = paginate(rows, args, lambda a: a.id)
        loaded = q.applications(tx, [a.id for a in page])
        return {"data": [self.list_item(loaded[a.id]) for a in page], "meta": meta}


def _csv(raw: str | None) -> set[str]:
    return {x.strip() for x in raw.split(",") if x.strip()} if raw else set()


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return 20
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 100:
        raise p.invalid("limit must be an integer between 1 and 100", "limit")
    return int(raw)


def paginate(rows: list[Any], args: dict[str, str], ident: Any) -> tuple[list[Any], dict[str, Any]]:
    """Dakota's cursor pagination: `starting_after` / `ending_before` (an id on the page edge) and `limit`."""
    limit = parse_limit(args.get("limit"))
    after, before = args.get("starting_after"), args.get("ending_before")
    if after and before:
        raise p.invalid("starting_after and ending_before cannot be combined", "starting_after")
    ids = [ident(r) for r in rows]
    start, end = 0, len(rows)
    if after:
        if after not in ids:
            raise p.invalid(f"starting_after: no item with id {after!r}", "starting_after")
        start = ids.index(after) + 1
        end = min(len(rows), start + limit)
    elif before:
        if before not in ids:
            raise p.invalid(f"ending_before: no item with id {before!r}", "ending_before")
        end = ids.index(before)
        start = max(0, end - limit)
    else:
        end = min(len(rows), limit)
    meta = {"total_count": len(rows), "has_more_after": end < len(rows), "has_more_before": start > 0}
    return rows[start:end], meta
