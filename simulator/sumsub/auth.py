"""Who is calling Sumsub: the X-App-* signature check, and the workspaces, levels and partnerships it refers to.

Clients, levels and partnerships are small seed tables that change only through the control plane: each is kept
whole per process until the store's change signal moves (`Store.cached`), so authenticating a request and looking
up a level cost no query.
"""

from __future__ import annotations

from simulator.core.runtime import Runtime
from simulator.core.tx import Tx
from simulator.sumsub import errors as e
from simulator.sumsub import queries as q
from simulator.sumsub.signing import signature, signatures_match


class Workspaces:
    """Reference data of the Sumsub fake, and request authentication."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def clients(self, tx: Tx | None) -> dict[str, q.ClientRef]:
        return self.rt.store.cached(tx, "sumsub:clients", q.all_clients)

    def client(self, tx: Tx | None, client_id: str) -> q.ClientRef | None:
        return self.clients(tx).get(client_id)

    def level(self, tx: Tx | None, name: str) -> q.LevelRef | None:
        return self.rt.store.cached(tx, "sumsub:levels", q.all_levels).get(name)

    def level_or_400(self, tx: Tx | None, name: str) -> q.LevelRef:
        lvl = self.level(tx, name)
        if lvl is None:
            raise e.bad_request(f"Level '{name}' not found")
        return lvl

    def partnerships(self, tx: Tx | None) -> frozenset[tuple[str, str]]:
        """Every (donor, recipient) agreement."""
        return self.rt.store.cached(tx, "sumsub:partnerships", q.all_partnerships)

    def authenticate(
        self,
        *,
        app_token: str | None,
        ts: str | None,
        sig: str | None,
        method: str,
        path_with_query: str,
        body: bytes,
    ) -> q.ClientRef:
        """Check the X-App-* headers; 401 with 4000 / 4003 / 4004 as Sumsub answers."""
        if not app_token:
            raise e.SumsubError(
                "App token is required (X-App-Token header is missing)",
                status=401,
                error_code=4000,
                error_name="app-token-invalid-format",
            )
        client = next((c for c in self.clients(None).values() if c.app_token == app_token), None)
        if client is None:
            raise e.SumsubError(
                "App token is invalid: no such token",
                status=401,
                error_code=4000,
                error_name="app-token-invalid-format",
            )
        if not ts or not ts.strip().isascii() or not ts.strip().isdigit():  # '²'.isdigit() is True
            raise e.SumsubError(
                "X-App-Access-Ts doesn't match to the number of seconds since Unix Epoch in UTC",
                status=401,
                error_code=4004,
                error_name="app-token-request-expired",
            )
        window = self.rt.settings.signature_window_seconds
        if abs(self.rt.clock.wall() - int(ts)) > window:
            raise e.SumsubError(
                f"Request signature expired: X-App-Access-Ts {ts} is more than {window}s from server time",
                status=401,
                error_code=4004,
                error_name="app-token-request-expired",
            )
        expected = signature(client.secret_key, ts.strip(), method, path_with_query, body)
        if not sig or not signatures_match(expected, sig):
            raise e.SumsubError(
                "Request signature mismatch", status=401, error_code=4003, error_name="app-token-signature-mismatch"
            )
        return client
