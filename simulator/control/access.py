"""Who may reach the sandbox: Host names (DNS rebinding) for every request, and for the control plane a token beyond
loopback and requests a web page cannot forge (CSRF).

A web page the developer visits can send requests to `127.0.0.1:8080`: simple cross-site requests (a form, or
`fetch` with `text/plain`) go out without a CORS preflight, so their side effects happen even though the page cannot
read the answer; and a page whose host name is made to resolve to 127.0.0.1 (DNS rebinding) can read answers too,
its requests carrying its own `Host`. So:

- every request's `Host` must be a loopback name, the host of the base URL or the bind address, or one of
  `SANDBOX_ALLOWED_HOSTS` (`*` allows any): a rebinding page's host is none of them;
- a control-plane request carrying an `Origin` must come from the sandbox's own origin;
- a control-plane write must carry `Content-Type: application/json` or the `X-Sandbox-Token` header, neither of
  which a page can send cross-site without a preflight the sandbox never grants;
- with `SANDBOX_CONTROL_TOKEN` set (generated when `serve` binds beyond loopback), every control-plane request but
  `GET /_sandbox/health` must carry `X-Sandbox-Token: <token>`.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from simulator.settings import Settings

TOKEN_HEADER = "X-Sandbox-Token"
_TOKEN_ENV = "HTTP_X_SANDBOX_TOKEN"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})
_OPEN = frozenset({("GET", "/_sandbox/health"), ("HEAD", "/_sandbox/health")})


def host_name(authority: str) -> str:
    """The host of a `Host` header or URL authority, lowercase, without port or IPv6 brackets."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else authority
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str


@dataclass(frozen=True)
class Access:
    """The rules above, for one sandbox's settings (built once; `check` runs on every request)."""

    hosts: frozenset[str]
    any_host: bool
    token: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        names = {n.strip().lower() for n in settings.allowed_hosts.split(",") if n.strip()}
        if settings.base_url:
            names.add(host_name(urlsplit(settings.base_url).netloc))
        if settings.host not in _WILDCARD_BINDS:
            names.add(host_name(settings.host))
        return cls(hosts=frozenset(names - {"*"}), any_host="*" in names, token=settings.control_token)

    def allows_host(self, host_header: str | None) -> bool:
        if not host_header or self.any_host:
            return True  # no Host at all is no browser's request
        host = host_name(host_header)
        return host in self.hosts or is_loopback(host)

    def check(self, method: str, path: str, environ: Mapping[str, object]) -> Refusal | None:
        """Why this request is refused, or None."""
        host = environ.get("HTTP_HOST")
        if not self.allows_host(host if isinstance(host, str) else None):
            return Refusal(
                400,
                f"Host {host!r} is not a name this sandbox answers to: use localhost or 127.0.0.1, or add it to "
                "SANDBOX_ALLOWED_HOSTS",
            )
        if not path.startswith("/_sandbox/") or (method, path) in _OPEN:
            return None
        sent = environ.get(_TOKEN_ENV)
        if self.token and not (isinstance(sent, str) and hmac.compare_digest(sent.encode(), self.token.encode())):
            return Refusal(401, f"The control plane needs the {TOKEN_HEADER} header with SANDBOX_CONTROL_TOKEN")
        origin = environ.get("HTTP_ORIGIN")
        if isinstance(origin, str) and not self._same_origin(origin, host if isinstance(host, str) else ""):
            return Refusal(403, f"Cross-origin control-plane requests are refused (Origin {origin!r})")
        if method in _WRITES and sent is None:
            ctype = environ.get("CONTENT_TYPE")
            if not (isinstance(ctype, str) and ctype.split(";", 1)[0].strip().lower() == "application/json"):
                return Refusal(
                    403,
                    f"Control-plane writes need Content-Type: application/json or the {TOKEN_HEADER} header "
                    "(which no web page can send cross-site)",
                )
        return None

    @staticmethod
    def _same_origin(origin: str, host_header: str) -> bool:
        parts = urlsplit(origin)
        return bool(parts.scheme in ("http", "https") and parts.netloc and parts.netloc.lower() == host_header.lower())
