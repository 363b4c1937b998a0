"""The one error root.

SandboxError                                  every error; routes never build error bodies
├── simulator.sumsub.errors.SumsubError       Sumsub's JSON error body
├── simulator.dakota.errors.DakotaProblem     RFC 9457 problem details
├── simulator.dakota.errors.ApplicationNotReady  Dakota's `application_not_ready` body
└── ControlError                              the control plane's {"error": {...}}

Each API's error knows its envelope (`envelope`); a bare SandboxError (a refusal at the edge: a host, a fault, a
busy store) has none, and takes the envelope of the API the request belongs to (`simulator.http`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ErrorContext:
    """What an envelope may name about the request that failed."""

    path: str
    request_id: str
    correlation_id: Callable[[], str]  # drawn only when an envelope names one (ids come from seeded streams)
    media_type: str | None = None  # the media type the operation's contract declares for its errors, when known


@dataclass(frozen=True)
class Envelope:
    """An error as the provider answers it: a JSON body (or none), its media type, extra headers."""

    body: Any
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class SandboxError(Exception):
    """Root of every error; carries the HTTP status it maps to."""

    status: int = 400

    def __init__(self, message: str, *, status: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        if status is not None:
            self.status = status

    def envelope(self, ctx: ErrorContext) -> Envelope | None:
        """This error in its provider's envelope; None: the envelope of the API the request belongs to."""
        return None


class ControlError(SandboxError):
    """An error of the /_sandbox control plane."""

    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message, status=status)
        self.field = field

    def to_dict(self) -> dict[str, Any]:
        err: dict[str, Any] = {"status": self.status, "message": self.message}
        if self.field:
            err["field"] = self.field
        return {"error": err}

    def envelope(self, ctx: ErrorContext) -> Envelope:
        return Envelope(self.to_dict())
