"""Load the sandbox's own OpenAPI contracts (`contracts/openapi/*.yaml`) as self-contained documents.

The contracts `$ref` shared JSON Schemas in `contracts/schemas/*.schema.json` by relative file name. `bundle()`
copies each referenced file once into `components/schemas` (named after the file: `sumsub-error.schema.json` →
`SumsubError`) and rewrites every reference, so the result is one OpenAPI 3.1 document that validators,
schemathesis and the served `/openapi/<api>.json` all read. No Flask here.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from simulator.core.resources import data_dir

APIS = ("sumsub", "dakota", "control")
SCHEMA_SUFFIX = ".schema.json"


def contracts_dir() -> Path:
    return data_dir("contracts")


def contract_path(api: str) -> Path:
    return contracts_dir() / "openapi" / f"{api}.yaml"


def read_yaml(path: Path) -> Any:
    import yaml  # only on a contract cache miss (see load_contract)

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


def schema_name(file_name: str) -> str:
    """`dakota-problem.schema.json` → `DakotaProblem`."""
    stem = file_name.removesuffix(SCHEMA_SUFFIX)
    return "".join(part[:1].upper() + part[1:] for part in stem.replace("_", "-").split("-"))


class _Bundler:
    def __init__(self, schemas_dir: Path, components: dict[str, Any]) -> None:
        self.schemas_dir = schemas_dir
        self.components = components

    def embed(self, file_name: str) -> str:
        """Copy `file_name` into components/schemas (once); returns its pointer."""
        name = schema_name(file_name)
        pointer = f"#/components/schemas/{name}"
        if name in self.components:
            return pointer
        self.components[name] = {}  # reserve first: files may reference each other
        with (self.schemas_dir / file_name).open(encoding="utf-8") as fh:
            raw = json.load(fh)
        for key in ("$schema", "$id"):
            raw.pop(key, None)
        self.components[name] = self.rewrite(raw, pointer)
        return pointer

    def rewrite(self, node: Any, local_root: str | None) -> Any:
        """Rewrite `$ref`s: `x.schema.json#/frag` → the embedded copy; `#/$defs/..` inside a file → its copy."""
        if isinstance(node, list):
            return [self.rewrite(v, local_root) for v in node]
        if not isinstance(node, dict):
            return node
        out = {k: self.rewrite(v, local_root) for k, v in node.items() if k != "$ref"}
        ref = node.get("$ref")
        if isinstance(ref, str):
            file_part, _, fragment = ref.partition("#")
            if file_part:
                target = self.embed(Path(file_part).name)
                out["$ref"] = target + fragment
            elif local_root is not None:
                out["$ref"] = local_root + fragment
            else:
                out["$ref"] = ref
        return out


def bundle(doc: dict[str, Any], schemas_dir: Path | None = None) -> dict[str, Any]:
    """A copy of `doc` with every external `*.schema.json` reference embedded under components/schemas."""
    embedded: dict[str, Any] = {}
    bundler = _Bundler(schemas_dir or contracts_dir() / "schemas", embedded)
    out: dict[str, Any] = bundler.rewrite(doc, None)
    schemas = out.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in embedded.items():
        if name in schemas:
            raise ValueError(f"components/schemas/{name} is defined inline and as a shared schema file")
        schemas[name] = schema
    return out


CACHE_FORMAT = 1  # bump when bundle() changes what it produces


def cache_dir() -> Path:
    """Where bundled contracts are kept between processes: $KYC_SANDBOX_CACHE_DIR, else the user's cache dir."""
    explicit = os.environ.get("KYC_SANDBOX_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kyc-sandbox"


def _sources_digest(api: str) -> str:
    """A hash of everything bundle() reads for `api`: its YAML and every shared schema file."""
    h = hashlib.sha256(f"{CACHE_FORMAT}:{api}".encode())
    for path in (contract_path(api), *schema_files()):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:32]


def _store_cached(path: Path, doc: dict[str, Any]) -> None:
    try:
        text = json.dumps(doc, ensure_ascii=False)
        if json.loads(text) != doc:  # YAML can hold what JSON cannot (dates, int keys): then never cache
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)  # atomic: concurrent workers each write a whole file, one wins
    except (OSError, TypeError, ValueError):
        pass  # a read-only or missing home only costs the YAML parse next time


@cache
def load_contract(api: str) -> dict[str, Any]:
    """The bundled contract of `api` (sumsub, dakota or control); cached for the process. Do not mutate.

    Parsing the YAML costs a few hundred milliseconds per process (most of a worker's start), so the bundled
    result is also kept as JSON in `cache_dir()`, keyed by a hash of its sources: an edited contract or schema
    file is simply a cache miss.
    """
    if api not in APIS:
        raise KeyError(f"no contract named {api!r}; expected one of {', '.join(APIS)}")
    cached = cache_dir() / f"{api}-{_sources_digest(api)}.json"
    try:
        with cached.open(encoding="utf-8") as fh:
            doc: dict[str, Any] = json.load(fh)
        return doc
    except (OSError, ValueError):
        pass
    doc = bundle(read_yaml(contract_path(api)))
    _store_cached(cached, doc)
    return doc


def served_document(api: str, base_url: str) -> dict[str, Any]:
    """The contract as served at `/openapi/<api>.json`: bundled, with `servers` set to this sandbox."""
    doc = copy.deepcopy(load_contract(api))
    doc["servers"] = [{"url": base_url.rstrip("/"), "description": "this kyc-sandbox"}]
    return doc


def schema_files() -> list[Path]:
    return sorted((contracts_dir() / "schemas").glob("*" + SCHEMA_SUFFIX))
