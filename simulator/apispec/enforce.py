"""Install contract-driven request validation on the app (see `simulator.apispec.validation` for the rules)."""

from __future__ import annotations

from functools import cache

from flask import Flask, request
from werkzeug.datastructures import MultiDict

from simulator.apispec.loader import APIS, load_contract
from simulator.apispec.validation import Contract, FieldError, Operation, validate
from simulator.core.errors import ControlError, SandboxError
from simulator.dakota import auth
from simulator.dakota.errors import DakotaProblem
from simulator.http import remember_json
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


def install(app: Flask) -> dict[str, Contract]:
    """Compile the three contracts once and validate every request to one of their operations."""
    contracts = compile_contracts()
    app.extensions[EXTENSION] = contracts
    sumsub, dakota, control = contracts["sumsub"], contracts["dakota"], contracts["control"]

    def validate_request() -> None:
        path = request.path
        if path.startswith("/resources/"):
            contract = sumsub
        elif path.startswith("/_sandbox/"):
            contract = control
        else:
            contract = dakota
        found = contract.find(request.method, path)
        if found is None:
            return
        op, path_args = found
        guarded = contract.api == "dakota" and (op.roles is not None or op.permission is not None)
        if guarded:
            _dakota_credentials_first(op, path_args)  # who may call it, before anything about the request
        raw = request.get_data(cache=True) if op.body is not None else b""
        # The query string is parsed only for operations that declare query parameters.
        query = request.args if any(p.location == "query" for p in op.params) else _NO_QUERY
        errors = validate(op, path_args, query, request.headers, raw, remember_json)
        if not errors:
            return
        if contract.api == "dakota" and not guarded:
            _dakota_credentials_first(op, path_args)
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


def _dakota_credentials_first(op: Operation, path_args: dict[str, str]) -> None:
    """Raise what the operation answers for missing or insufficient credentials, before any 400."""
    from simulator.http import sandbox

    sb = sandbox()
    if "ApplicationTokenAuth" in op.security and "ApiKeyAuth" not in op.security:
        with sb.rt.store.read() as tx:
            sb.dakota.applications.application_by_token(
                tx, path_args.get("application_id", ""), request.headers.get("X-Application-Token")
            )
        return
    key = auth.authenticate(sb.rt.store, request.headers.get("x-api-key"))
    if op.permission:
        auth.require(key, op.permission["name"], op.permission["detail"])
    if op.roles and key.role not in op.roles.get("roles", []):
        raise DakotaProblem(403, str(op.roles.get("detail", "Forbidden")))
