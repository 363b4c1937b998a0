"""The one error root.

SandboxError                      every error a service raises; routes never build error bodies
├── simulator.sumsub.errors.SumsubError      rendered as Sumsub's JSON error body
├── simulator.dakota.errors.DakotaProblem  rendered as RFC 9457 problem details (or Dakota's other bodies)
└── ControlError                             rendered as the control plane's {"error": {...}}
"""

from __future__ import annotations

from typing import Any


class SandboxError(Exception):
    """Root of every domain error; carries the HTTP status it maps to."""

    status: int = 400

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


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
