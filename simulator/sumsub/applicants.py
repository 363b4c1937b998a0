"""Sumsub applicants: create, read (by id or externalUserId), Sumsub's shapes of them, and the check request."""

from __future__ import annotations

import copy
from typing import Any

from simulator.core.clock import sumsub_datetime, sumsub_review_datetime
from simulator.core.runtime import Runtime
from simulator.core.tx import Tx
from simulator.sumsub import errors as e
from simulator.sumsub import queries as q
from simulator.sumsub.auth import Workspaces
from simulator.sumsub.notify import Notifier

CHECK_IN_PROGRESS = ("pending", "queued", "prechecked")
INFO_STRING_FIELDS = (
    "firstName",
    "firstNameEn",
    "middleName",
    "middleNameEn",
    "lastName",
    "lastNameEn",
    "legalName",
    "gender",
    "dob",
    "placeOfBirth",
    "placeOfBirthEn",
    "countryOfBirth",
    "stateOfBirth",
    "country",
    "nationality",
    "tin",
    "phone",
    "email",
)
ADDRESS_FIELDS = (
    "street",
    "streetEn",
    "subStreet",
    "subStreetEn",
    "buildingName",
    "buildingNumber",
    "flatNumber",
    "town",
    "townEn",
    "state",
    "stateEn",
    "postCode",
    "country",
    "formattedAddress",
)
STATUS_KEYS = (
    "reviewId",
    "attemptId",
    "attemptCnt",
    "levelName",
    "createDate",
    "reviewDate",
    "reviewResult",
    "reviewStatus",
    "priority",
)


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars): `copy.deepcopy` without its memo bookkeeping."""
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value


class Applicants:
    def __init__(self, rt: Runtime, workspaces: Workspaces, notifier: Notifier) -> None:
        self.rt = rt
        self.workspaces = workspaces
        self.notifier = notifier

    # ------------------------------------------------------------------ create and read
    def create(self, tx: Tx, client: q.ClientRef, level_name: str | None, body: Any) -> q.ApplicantRow:
        if not level_name:
            raise e.bad_request("levelName query parameter is required")
        level = self.workspaces.level_or_400(tx, level_name)
        if not isinstance(body, dict):
            raise e.bad_request("Request body must be a JSON object")
        ext = body.get("externalUserId")
        if not isinstance(ext, str) or not ext.strip() or len(ext) > 256:
            raise e.bad_request("externalUserId is required: a non-empty string of at most 256 characters")
        existing = q.applicant_id_by_external_id(tx, client.client_id, ext)
        if existing is not None:
            raise e.SumsubError(f"Applicant with external user id '{ext}' already exists: {existing}", status=409)
        a_type = body.get("type", "individual")
        if a_type not in ("individual", "company"):
            raise e.bad_request("type must be 'individual' or 'company'")
        now = self.rt.clock.now(tx)
        a = q.ApplicantRow(
            id=self.rt.ids.sumsub_id(),
            client_id=client.client_id,
            external_user_id=ext,
            inspection_id=self.rt.ids.sumsub_id(),
            level_name=level.name,
            type=a_type,
            email=_opt_str(body.get("email"), "email"),
            phone=_opt_str(body.get("phone"), "phone"),
            lang=_opt_str(body.get("lang"), "lang"),
            info={},
            fixed_info=_clean_info(body.get("fixedInfo", {}), "fixedInfo"),
            review=self.new_review(level.name, now),
            steps={},
            questionnaires=[],
            active=1,
            created_at=now,
        )
        q.insert_applicant(tx, a)
        self.notifier.notify(tx, a, "applicantCreated")
        return a

    def get(self, tx: Tx, client: q.ClientRef, applicant_id: str, *, for_update: bool = False) -> q.ApplicantRow:
        a = q.applicant(tx, applicant_id, for_update=for_update) if len(applicant_id) <= 64 else None
        if a is None or a.client_id != client.client_id:
            raise e.not_found()
        return a

    def get_by_external_id(self, tx: Tx, client: q.ClientRef, external_user_id: str) -> q.ApplicantRow:
        a = q.applicant_by_external_id(tx, client.client_id, external_user_id)
        if a is None:
            raise e.not_found()
        return a

    def new_review(self, level_name: str, now: float) -> dict[str, Any]:
        return {
            "reviewId": self.rt.ids.review_id(),
            "attemptId": self.rt.ids.review_id(),
            "attemptCnt": 0,
            "levelName": level_name,
            "createDate": sumsub_review_datetime(now),
            "reviewStatus": "init",
            "priority": 0,
        }

    # ------------------------------------------------------------------ Sumsub's shapes
    def to_dict(self, tx: Tx | None, a: q.ApplicantRow, *, copy_values: bool = True) -> dict[str, Any]:
        """The applicant as Sumsub's API shows it. `copy_values=False` shares the row's JSON values instead of
        copying them: only for a caller that reads the result and throws it away (the bulk import's mapping)."""
        dup: Any = json_copy if copy_values else _same
        level = self.workspaces.level(tx, a.level_name)
        client = self.workspaces.client(tx, a.client_id)
        out: dict[str, Any] = {
            "id": a.id,
            "createdAt": sumsub_datetime(a.created_at),
            "key": client.key if client else "",
            "clientId": a.client_id,
            "inspectionId": a.inspection_id,
            "externalUserId": a.external_user_id,
        }
        if a.email:
            out["email"] = a.email
        if a.phone:
            out["phone"] = a.phone
        if a.lang:
            out["lang"] = a.lang
        out["applicantPlatform"] = "API"
        if a.fixed_info:
            out["fixedInfo"] = dup(a.fixed_info)
        out["info"] = dup(a.info)
        out["requiredIdDocs"] = {"docSets": json_copy(list(level.doc_sets)) if level else []}
        out["review"] = dup(a.review)
        if a.questionnaires:
            out["questionnaires"] = dup(a.questionnaires)
        out["type"] = a.type
        return out

    @staticmethod
    def status_dict(a: q.ApplicantRow) -> dict[str, Any]:
        return {k: copy.deepcopy(a.review[k]) for k in STATUS_KEYS if k in a.review}

    def required_id_docs_status(self, tx: Tx, a: q.ApplicantRow) -> dict[str, Any]:
        level = self.workspaces.level_or_400(tx, a.level_name)
        return {step: copy.deepcopy(a.steps.get(step)) for step in level.step_types()}

    # ------------------------------------------------------------------ checks and SDK tokens
    def request_check(self, tx: Tx, client: q.ClientRef, applicant_id: str) -> None:
        """`POST .../status/pending`: the applicant, every step of its level done, goes to review (`pending`)."""
        a = self.get(tx, client, applicant_id, for_update=True)
        status = a.review.get("reviewStatus")
        if status in CHECK_IN_PROGRESS:
            raise e.SumsubError(f"Applicant is already in {status} status: a check is in progress", status=409)
        level = self.workspaces.level_or_400(tx, a.level_name)
        missing = [
            step
            for step in level.step_types()
            if (step == "QUESTIONNAIRE" and not a.questionnaires)
            or (step not in ("QUESTIONNAIRE", "APPLICANT_DATA") and not a.steps.get(step))
        ]
        if missing:
            raise e.SumsubError(
                "Not all required documents or data are submitted. Make sure to complete "
                f"[{', '.join(missing)}] verification steps beforehand.",
                status=409,
            )
        review = json_copy(a.review)
        review.pop("reviewResult", None)
        review["reviewStatus"] = "pending"
        review["attemptId"] = self.rt.ids.review_id()
        review["startDate"] = sumsub_review_datetime(self.rt.clock.now(tx))
        a.review = review
        q.save_applicant(tx, a, "review")
        self.notifier.notify(tx, a, "applicantPending")

    def sdk_access_token(self, tx: Tx, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise e.bad_request("Request body must be a JSON object")
        user_id = body.get("userId")
        level_name = body.get("levelName")
        if not isinstance(user_id, str) or not user_id:
            raise e.bad_request("userId is required")
        if not isinstance(level_name, str) or not level_name:
            raise e.bad_request("levelName is required")
        self.workspaces.level_or_400(tx, level_name)
        ttl = body.get("ttlInSecs", 600)
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            raise e.bad_request("ttlInSecs must be a positive integer")
        return {"token": f"_act-sbx-jwt-{self.rt.ids.hex(40)}", "userId": user_id}


def _same(value: Any) -> Any:
    return value


def _opt_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 320:
        raise e.bad_request(f"{name} must be a string of at most 320 characters")
    return value


def _clean_info(raw: Any, where: str) -> dict[str, Any]:
    """Validate an `info` / `fixedInfo` object: known string fields and an address list."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise e.bad_request(f"{where} must be a JSON object")
    out: dict[str, Any] = {}
    for k, v in raw.items():
        if k in INFO_STRING_FIELDS and v is not None:
            if not isinstance(v, str) or len(v) > 512:
                raise e.bad_request(f"{where}.{k} must be a string")
            out[k] = v
        elif k == "addresses":
            out["addresses"] = _clean_addresses(v, where)
    return out


def _clean_addresses(raw: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(raw, list) or len(raw) > 10:
        raise e.bad_request(f"{where}.addresses must be a list of at most 10 address objects")
    addresses = []
    for i, addr in enumerate(raw):
        if not isinstance(addr, dict):
            raise e.bad_request(f"{where}.addresses[{i}] must be an object")
        clean = {}
        for ak, av in addr.items():
            if ak in ADDRESS_FIELDS and av is not None:
                if not isinstance(av, str) or len(av) > 512:
                    raise e.bad_request(f"{where}.addresses[{i}].{ak} must be a string")
                clean[ak] = av
        addresses.append(clean)
    return addresses
