"""Step 3 and after: completing, submitting and reviewing an individual application, with the events it emits."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import date
from typing import Any

from simulator.core.runtime import Runtime
from simulator.core.tx import Tx
from simulator.dakota import errors as p
from simulator.dakota import queries as q
from simulator.dakota.applications import IDENTITY_DOCS, Applications, kyc_status, new_customer
from simulator.dakota.errors import ApplicationNotReady
from simulator.dakota.events import Events
from simulator.dakota.individuals import valid_country, validate_individual
from simulator.sumsub import queries as sumsub_queries
from simulator.sumsub.backend import Sumsub

FILE_MAGIC = {"pdf": (b"%PDF",), "jpeg": (b"\xff\xd8\xff",), "png": (b"\x89PNG\r\n\x1a\n",)}
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
EDITABLE = ("pending", "request_for_information")
DECIDABLE = ("submitted", "under_review", "request_for_information", "approved", "declined")
RUNTIME_STATE = "runtime_settings"


class Onboarding:
    def __init__(self, rt: Runtime, apps: Applications, events: Events, sumsub: Sumsub) -> None:
        self.rt = rt
        self.apps = apps
        self.events = events
        self.sumsub = sumsub

    # ------------------------------------------------------------------ helpers
    def _editable(self, app: q.ApplicationRow) -> None:
        if app.status not in EDITABLE:
            raise p.DakotaProblem(
                409, f"Application already {app.status}: it cannot be modified", title="Application not editable"
            )

    def _touch(self, tx: Tx, app: q.ApplicationRow) -> float:
        now = self.rt.clock.now(tx)
        app.updated_at = now
        app.version += 1
        return now

    def _customer(self, tx: Tx, app: q.ApplicationRow) -> q.CustomerRow:
        c = q.customer(tx, app.customer_id, for_update=True)
        assert c is not None
        return c

    @staticmethod
    def customer_object(c: q.CustomerRow, app: q.ApplicationRow | None) -> dict[str, Any]:
        """The `data.object` of customer events."""
        return {
            "customer_id": c.id,
            "name": c.name,
            "customer_type": c.customer_type,
            "kyb_status": c.kyb_status,
            "kyc_status": kyc_status(app),
            "application_id": c.application_id,
            "application_status": app.status if app else None,
        }

    def emit_customer_updated(
        self,
        tx: Tx,
        c: q.CustomerRow,
        app: q.ApplicationRow,
        before: dict[str, Any],
        simulation_id: str | None = None,
    ) -> None:
        """`customer.updated` with what changed since `before` (the customer object before the change)."""
        after = self.customer_object(c, app)
        previous = {k: v for k, v in before.items() if after.get(k) != v}
        self.events.emit(tx, c.organization_id, "customer.updated", after, previous, simulation_id)

    # ------------------------------------------------------------------ manual customers
    def create_customer(self, tx: Tx, key: q.KeyRow, body: Any) -> dict[str, Any]:
        """`POST /customers`: a customer with an empty application (the dashboard's Manual mode). The contract
        checked the body: `name` (3 to 100 characters, not only spaces), `customer_type`, `external_id` a string."""
        name, ctype, external_id = body["name"], body["customer_type"], body.get("external_id")
        if external_id is not None and len(external_id) > 256:
            raise p.invalid("external_id must be a string of at most 256 characters", "external_id")
        customer, app = new_customer(
            self.rt.ids,
            self.rt.clock.now(tx),
            key.organization_id,
            customer_type=ctype,
            name=name.strip(),
            email=None,
            external_id=external_id,
            source="api",
            individual={},
            sumsub=None,
            flags={"source": "manual"},
        )
        q.insert_customer(tx, customer)
        q.insert_application(tx, app)
        self.events.emit(
            tx,
            key.organization_id,
            "customer.created",
            {"customer_id": customer.id, "name": customer.name, "customer_type": ctype},
        )
        return {
            "id": customer.id,
            "kyb_links": [],
            "application_id": app.id,
            "application_url": self.apps.application_url(app),
            "application_expires_at": int(app.expires_at * 1_000_000_000),
        }

    # ------------------------------------------------------------------ step 3
    def update_individual_details(self, tx: Tx, app: q.ApplicationRow, body: Any) -> dict[str, Any]:
        self._editable(app)
        today = self.rt.clock.now_dt(tx).date()
        clean, errors = validate_individual(body, today, app.individual.get("ssn"))
        if errors:
            raise p.DakotaProblem(
                400,
                f"Invalid individual details ({len(errors)} field error(s))",
                title="Validation failed",
                errors=errors,
            )
        customer = self._customer(tx, app)
        before = self.customer_object(customer, app)
        if app.individual.get("phone_number"):
            clean["phone_number"] = app.individual["phone_number"]
        app.individual = clean
        app.flags = {**app.flags, "address_placeholder": False}
        now = self._touch(tx, app)
        q.save_application(tx, app, "individual", "flags", "updated_at", "version")
        customer.email = clean["email_address"]
        customer.updated_at = now
        q.save_customer(tx, customer, "email", "updated_at")
        self.emit_customer_updated(tx, customer, app, before)
        return {
            "application_id": app.id,
            "application_status": app.status,
            "application_decision": app.decision,
            "individual": self.apps.individual_entity(app),
        }

    def upload_document(self, tx: Tx, app: q.ApplicationRow, individual_id: str, body: Any) -> dict[str, Any]:
        if individual_id != app.individual_id:
            raise p.DakotaProblem(404, "Individual not found in this application", title="Individual not found")
        self._editable(app)
        today = self.rt.clock.now_dt(tx).date()
        doc_type, file_type, content, country, id_number, valid_until, filename = _checked_document(body, today)
        now = self._touch(tx, app)
        identity = doc_type in IDENTITY_DOCS
        doc = {
            "document_id": self.rt.ids.ksuid(now),
            "document_type": doc_type,
            "status": "uploaded",
            "uploaded_at": now,
            "source": "api",
            "file_type": file_type,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "country": country,
            "id_number": id_number if identity else None,
            "valid_until": valid_until,
            "filename": filename,
        }
        app.documents = [*app.documents, doc]
        if identity and app.sumsub and app.sumsub.get("sumsub_review_status") == "documents_requested":
            self._close_documents_requested(tx, app)
        q.save_application(tx, app, "documents", "sumsub", "updated_at", "version")
        return {"document_id": doc["document_id"]}

    def _close_documents_requested(self, tx: Tx, app: q.ApplicationRow) -> None:
        """The missing identity document arrived: Sumsub's review on Dakota's side completes GREEN."""
        assert app.sumsub is not None
        applicant = sumsub_queries.applicant(tx, app.sumsub["provider_applicant_id"], for_update=True)
        review = dict(app.sumsub.get("review", {}))
        if applicant is not None:
            self.sumsub.documents.complete_review(tx, applicant, {"reviewAnswer": "GREEN"})
            review_date = applicant.review.get("reviewDate", "")
            review.update(
                {
                    "review_status": "completed",
                    "review_result": {"review_answer": "GREEN"},
                    "review_date": review_date[:10] + "T" + review_date[11:19] + "Z",
                    "attempt_cnt": applicant.review.get("attemptCnt", 1),
                }
            )
        app.sumsub = {**app.sumsub, "review": review, "sumsub_review_status": "approved"}

    def attest(self, tx: Tx, app: q.ApplicationRow, body: Any) -> None:
        """The body's shape (a known `attestation_type`, an integer `timestamp`, `applicant_id`) is the contract's."""
        self._editable(app)
        kind = body["attestation_type"]
        ts = body["timestamp"]
        if not isinstance(ts, int) or ts <= 0:  # JSON Schema's integer takes 5.0 too
            raise p.invalid("timestamp is required: unix seconds", "timestamp", "required")
        if ts > self.rt.clock.now(tx) + 300:
            raise p.invalid("timestamp cannot be in the future", "timestamp")
        if body.get("applicant_id") != app.individual_id:
            raise p.invalid(
                "applicant_id must be the application's individual: the attestor must be the individual",
                "applicant_id",
            )
        first, last = app.individual.get("first_name"), app.individual.get("last_name")
        if not first or not last:
            raise p.invalid("the individual's name must be on file before attesting", "applicant_id")
        esign = app.attestations.get("e_sign")
        if kind != "e_sign":
            if esign is None:
                raise p.invalid("e_sign must be submitted first", "attestation_type", "e_sign_required")
            if ts <= esign["timestamp"]:
                raise p.invalid("timestamp must be after the e_sign attestation", "timestamp")
        self._touch(tx, app)
        app.attestations = {**app.attestations, kind: {"timestamp": ts, "attested_by": f"{first} {last}"}}
        q.save_application(tx, app, "attestations", "updated_at", "version")

    def submit(self, tx: Tx, app: q.ApplicationRow) -> dict[str, Any]:
        """Submit, or answer `application_not_ready` listing exactly what is missing."""
        if app.status not in EDITABLE:
            raise ApplicationNotReady(
                {
                    "code": "application_not_ready",
                    "application_id": app.id,
                    "status_message": f"Application is already {app.status}",
                    "incomplete_applicants": [],
                    "missing_attestations": [],
                }
            )
        v = self.apps.validation(app)
        if not v["ready"]:
            raise ApplicationNotReady(_not_ready(app, v))
        customer = self._customer(tx, app)
        before = self.customer_object(customer, app)
        now = self._touch(tx, app)
        app.status = "submitted"
        app.submitted_at = now
        app.decision = None  # a resubmission (after an information request) awaits a new decision
        app.decision_method = None
        delay = self.runtime_settings(tx).get("auto_approve_after_seconds")
        app.auto_decide_at = now + float(delay) if delay is not None else None
        q.save_application(
            tx, app, "status", "submitted_at", "decision", "decision_method", "auto_decide_at", "updated_at", "version"
        )
        if delay is not None:
            self.events.outbox.work_queued.set()  # the dispatcher settles it when due
        customer.updated_at = now
        q.save_customer(tx, customer, "updated_at")
        self.events.emit(
            tx,
            customer.organization_id,
            "customer.kyb_application.submitted",
            {"customer_id": customer.id, "type": "individual", "application_id": app.id},
        )
        self.emit_customer_updated(tx, customer, app, before)
        return self.apps.application_dict(app, {"all"})

    # ------------------------------------------------------------------ review
    def simulate(self, tx: Tx, key: q.KeyRow, body: Any) -> dict[str, Any]:
        """`POST /sandbox/simulate/onboarding`: drive a review decision as Dakota's sandbox does (the caller's
        role and the body's shape were checked at the edge)."""
        kind, sim_id, app_id, fields = (
            body["type"],
            body["simulation_id"],
            body["applicant_id"],
            body.get("info_request_fields"),
        )
        if not app_id:
            raise p.invalid("applicant_id is required: the application id", "applicant_id", "required")
        app = q.application(tx, app_id, for_update=True) if len(app_id) <= 64 else None
        if app is None or app.organization_id != key.organization_id:
            raise p.DakotaProblem(404, "Applicant not found", title="Applicant not found")
        if app.status not in DECIDABLE:
            raise p.invalid(
                f"the application is {app.status}: submit it (POST /applications/{{id}}/submissions) before a review "
                "decision",
                "applicant_id",
                "not_submitted",
            )
        customer = self._customer(tx, app)
        previous_kyb = customer.kyb_status
        if kind.endswith("_approve") or kind == "applicant_activate":
            provision = kind in ("kyb_approve", "applicant_activate")
            self.decide(tx, app, customer, "approved", "manual", provision=provision, simulation_id=sim_id)
        elif kind.endswith("_reject") or kind == "applicant_suspend":
            self.decide(tx, app, customer, "declined", "manual", reason=body.get("reason_code"), simulation_id=sim_id)
        else:
            self.request_information(tx, app, customer, fields or [], body.get("reason_code"), simulation_id=sim_id)
        return {
            "simulation_id": sim_id,
            "applicant_id": app.id,
            "previous_state": previous_kyb,
            "new_state": customer.kyb_status,
            "application_status": app.status,
        }

    def decide(
        self,
        tx: Tx,
        app: q.ApplicationRow,
        customer: q.CustomerRow,
        decision: str,
        method: str,
        *,
        provision: bool = False,
        reason: Any = None,
        simulation_id: str | None = None,
    ) -> None:
        before = self.customer_object(customer, app)
        now = self._touch(tx, app)
        app.status = decision
        app.decision = decision
        app.decision_method = method
        app.auto_decide_at = None
        if reason is not None:
            app.flags = {**app.flags, "reason_code": str(reason)}
        q.save_application(
            tx, app, "status", "decision", "decision_method", "auto_decide_at", "flags", "updated_at", "version"
        )
        if decision == "declined":
            customer.kyb_status = "rejected"
        elif provision:
            customer.kyb_status = "active"
        elif customer.kyb_status == "rejected":
            customer.kyb_status = "pending"  # a later approval lifts an earlier rejection
        customer.updated_at = now
        q.save_customer(tx, customer, "kyb_status", "updated_at")
        if provision:
            self._provision(tx, customer, now, simulation_id)
        self.emit_customer_updated(tx, customer, app, before, simulation_id)

    def _provision(self, tx: Tx, customer: q.CustomerRow, now: float, simulation_id: str | None) -> None:
        """An approved business relationship: KYB statuses from both providers, and a recipient."""
        for provider in ("sumsub", "dakota_compliance"):
            self.events.emit(
                tx,
                customer.organization_id,
                "customer.kyb_status.created",
                {"customer_id": customer.id, "kyb_status": "approved", "provider_id": provider},
                simulation_id=simulation_id,
            )
        self.events.emit(
            tx,
            customer.organization_id,
            "recipient.created",
            {"recipient_id": self.rt.ids.ksuid(now), "customer_id": customer.id, "name": customer.name},
            simulation_id=simulation_id,
        )

    def request_information(
        self,
        tx: Tx,
        app: q.ApplicationRow,
        customer: q.CustomerRow,
        fields: list[str],
        reason: Any,
        simulation_id: str | None = None,
    ) -> None:
        before = self.customer_object(customer, app)
        self._touch(tx, app)
        app.status = "request_for_information"
        app.auto_decide_at = None
        app.flags = {**app.flags, "info_request_fields": fields, "reason_code": reason}
        q.save_application(tx, app, "status", "auto_decide_at", "flags", "updated_at", "version")
        self.emit_customer_updated(tx, customer, app, before, simulation_id)

    # ------------------------------------------------------------------ settling due work
    def runtime_settings(self, tx: Tx) -> dict[str, Any]:
        return self.rt.store.get_state(tx, RUNTIME_STATE) or {}

    def settle_due(self) -> list[dict[str, Any]]:
        """Auto-approve submitted applications whose delay has passed on the simulated clock."""
        fired: list[dict[str, Any]] = []
        if not q.any_due_for_auto_decision(self.rt.store, self.rt.clock.now()):
            return fired  # a read first: the dispatcher polls often, and a write transaction would hold up writers
        with self.rt.store.write() as tx:
            for app in q.due_for_auto_decision(tx, self.rt.clock.now(tx)):
                self.decide(tx, app, self._customer(tx, app), "approved", "auto")
                fired.append({"kind": "auto_approval", "application_id": app.id, "outcome": "approved"})
        return fired


def _not_ready(app: q.ApplicationRow, v: dict[str, Any]) -> dict[str, Any]:
    """Dakota's `application_not_ready` body, listing exactly what is missing."""
    ind = v["primary_individual"]
    entity = {
        "applicant_type": "individual",
        "applicant_id": app.individual_id,
        "first_name": app.individual.get("first_name", ""),
        "last_name": app.individual.get("last_name", ""),
        "ready": ind["ready"],
        "document_info": {
            "uploaded_documents": ind["documents"]["uploaded_documents"],
            "missing_documents": [d for d in ind["documents"]["missing_documents"] if d["required"]],
        },
        "missing_fields": ind["details"]["missing_fields"],
    }
    return {
        "code": "application_not_ready",
        "application_id": app.id,
        "status_message": v["status_message"],
        "incomplete_applicants": [] if ind["ready"] else [entity],
        "missing_attestations": v["attestations"]["missing"],
    }


def _checked_document(body: Any, today: date) -> tuple[str, str, bytes, str, str | None, str | None, str | None]:
    """An upload's (type, file type, bytes, country, id number, valid until, safe file name), or Dakota's 400/413.
    The contract checked the shape: known `type` and `file_type`, `country` of two letters, `valid_until` a date,
    `filename` at most 100 characters; what is left is the file itself and the document's own rules."""
    doc_type, file_type, country = body["type"], body["file_type"], body["country"]
    content = _decoded_file(body["file_content"], file_type)
    if not valid_country(country):
        raise p.invalid("country is required: the issuing country's ISO 3166-1 alpha-2 code", "country")
    id_number = body.get("id_number")
    if doc_type in IDENTITY_DOCS and (not id_number or not id_number.strip() or len(id_number) > 50):
        raise p.invalid("id_number is required for identity documents", "id_number", "required")
    valid_until = body.get("valid_until")
    if valid_until is not None and date.fromisoformat(valid_until) < today:
        raise p.invalid("the document has expired (valid_until is in the past)", "valid_until", "expired")
    return doc_type, file_type, content, country, id_number, valid_until, _safe_filename(body.get("filename"))


def _decoded_file(raw: str, file_type: str) -> bytes:
    if not raw:
        raise p.invalid("file_content is required: the base64-encoded file", "file_content", "required")
    too_big = "File size exceeds the 10MB limit; use the presigned upload for larger files"
    if len(raw) > (MAX_DOCUMENT_BYTES * 4) // 3 + 8:
        raise p.DakotaProblem(413, too_big)
    try:
        content = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise p.invalid("file_content must be valid base64", "file_content") from None
    if not content:
        raise p.invalid("file_content is empty", "file_content")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise p.DakotaProblem(413, too_big)
    if not content.startswith(FILE_MAGIC[file_type]):
        raise p.invalid(f"file_content is not a {file_type} file", "file_content", "type_mismatch")
    return content


def _safe_filename(name: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '<>:"|?*')
    return cleaned[:100] or None
