"""Install contract-driven request validation on the app (see `simulator.apispec.validation` for the rules)."""

from __future__ import annotations

from functools import cache

from flask import Flask, request
from werkzeug.datastructures import MultiDict

from simulator.apispec.loader import APIS, load_contract
from simulator.apispec.validation import Contract, FieldError, Operation, validate
from simulator.core.errors import ControlError, SandboxError
from simulator.dakota import auth
from simulator.dakota.backend import Dakota
from simulator.dakota.errors import DakotaProblem
from simulator.http import api_of, remember_json
from simulator.sumsub.errors import SumsubError

EXTENSION = "kyc_sandbox_contracts"
# Blueprints outside the contracts; every other one gets the hook, after its own before-request hooks (Sumsub's
# signature check), so authentication always comes first.
NOT_API = ("dashboard", "apispec")


_NO_QUERY: MultiDict[str, str] = MultiDict()


@cache
def compile_contracts() -> dict[str, Contract]:
    """The three contracts, compiled once per process (compiled contracts are read-only)."""
    return {api: Contract(api, load_contract(api)) for api in APIS}


def error_media_type(api: str, method: str, path: str) -> str | None:
    """The media type the operation's contract declares for its errors (None: not an operation of a contract)."""
    contract = compile_contracts().get(api)
    found = contract.find(method, path) if contract is not None else None
    return found[0].error_media_type if found is not None else None


def install(app: Flask, dakota: Dakota) -> dict[str, Contract]:
    """Compile the three contracts once and validate every request to one of their operations."""
    contracts = compile_contracts()
    app.extensions[EXTENSION] = contracts

    def validate_request() -> None:
        path = request.path
        contract = contracts.get(api_of(path))
        found = contract.find(request.method, path) if contract is not None else None
        if contract is None or found is None:
            return
        op, path_args = found
        guarded = contract.api == "dakota" and (op.roles is not None or op.permission is not None)
        if guarded:
            _dakota_credentials_first(dakota, op, path_args)  # who may call it, before anything about the request
        raw = request.get_data(cache=True) if op.body is not None else b""
        # The query string is parsed only for operations that declare query parameters.
        query = request.args if any(p.location == "query" for p in op.params) else _NO_QUERY
        errors = validate(op, path_args, query, request.headers, raw, remember_json)
        if not errors:
            return
        if contract.api == "dakota" and not guarded:
            _dakota_credentials_first(dakota, op, path_args)
        raise as_provider_error(contract.api, errors)

    for name in app.blueprints:
        if name not in NOT_API:
            app.before_request_funcs.setdefault(name, []).append(validate_request)
    return contracts


def as_provider_error(api: str, errors: list[FieldError]) -> SandboxError:
    """The 400 each provider answers for these field errors, in its own envelope."""
    first = errors[0]
    if api == "sumsub":
        return SumsubError(first.message, status=400)
    if api == "control":
        return ControlError(first.message, status=400, field=first.field)
    detail = first.message if len(errors) == 1 else f"{first.message} (and {len(errors) - 1} more field error(s))"
    return DakotaProblem(400, detail, errors=[e.to_dict() for e in errors])


def _dakota_credentials_first(dakota: Dakota, op: Operation, path_args: dict[str, str]) -> None:
    """Raise what the operation answers for missing or insufficient credentials, before any 400."""
    if "ApplicationTokenAuth" in op.security and "ApiKeyAuth" not in op.security:
        with dakota.rt.store.read() as tx:
            dakota.applications.application_by_token(
                tx, path_args.get("application_id", ""), request.headers.get("X-Application-Token")
            )
        return
    key = auth.authenticate(dakota.rt.store, request.headers.get("x-api-key"))
    if op.permission:
        auth.require(key, op.permission["name"], op.permission["detail"])
    if op.roles and key.role not in op.roles.get("roles", []):
        raise DakotaProblem(403, str(op.roles.get("detail", "Forbidden")))
