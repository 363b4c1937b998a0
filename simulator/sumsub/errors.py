"""Sumsub's errors, rendered as `{description, code, correlationId, errorCode?, errorName?}`."""

from __future__ import annotations

from typing import Any

from simulator.core.errors import Envelope, ErrorContext, SandboxError

SERVICE_EXCEPTION = "de.smtdp.commons.service.exceptions.ServiceException"

# Reusable KYC catalogue (sumsub-api-notes.md §2.3).
REUSE_ERRORS: dict[int, str] = {
    10501: "not-in-partners-list",
    10502: "invalid-partner-id",
    10503: "invalid-share-token",
    10504: "non-suitable-share-token",
    10505: "reusable-kyc-disabled",
    10506: "reusable-kyc-not-reusable",
    10507: "reusable-kyc-not-approved-applicant",
    10508: "reusable-kyc-not-active-applicant",
    10510: "reusable-kyc-not-selfie-or-identity-doc",
    10513: "reusable-kyc-not-compatible-doc-type",
    10518: "copy-applicant-disabled",
}


class SumsubError(SandboxError):
    """An error answered by the Sumsub fake."""

    def __init__(
        self,
        description: str,
        *,
        status: int = 400,
        error_code: int | None = None,
        error_name: str | None = None,
        type_: str | None = None,
    ) -> None:
        super().__init__(description, status=status)
        self.description = description
        self.error_code = error_code
        self.error_name = error_name or (REUSE_ERRORS.get(error_code) if error_code else None)
        self.type_ = type_

    def to_dict(self, correlation_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {"description": self.description, "code": self.status}
        body["correlationId"] = correlation_id
        if self.error_code is not None:
            body["errorCode"] = self.error_code
        if self.error_name:
            body["errorName"] = self.error_name
        if self.type_:
            body["type"] = self.type_
        return body

    def envelope(self, ctx: ErrorContext) -> Envelope:
        return Envelope(self.to_dict(ctx.correlation_id()))


def bad_request(description: str) -> SumsubError:
    return SumsubError(description, status=400)


def not_found(description: str = "Applicant not found") -> SumsubError:
    return SumsubError(description, status=404)


def reuse_error(code: int, description: str) -> SumsubError:
    return SumsubError(description, status=400, error_code=code, type_=SERVICE_EXCEPTION)


def token_invalid(description: str) -> SumsubError:
    """The generic 401 for an expired, used or malformed share token (no errorCode, as Sumsub answers)."""
    return SumsubError(f"Token is invalid: {description}", status=401, type_=SERVICE_EXCEPTION)
