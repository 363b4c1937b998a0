"""The suite's own layout: test modules share helpers only through the test kit (tests/support), and stay small.

- No module under tests/ imports another test module (a `test_*.py`, a conftest.py, or any other module outside the
  kit): whatever two test modules share lives in tests/support, fixtures in the conftest.py files (which pytest
  loads by itself). Imports inside functions, relative imports, `importlib.import_module("tests....")` and
  `pytest_plugins` count too. The kit itself imports nothing of tests/ but the kit.
- No test module (nor kit module) is longer than 600 lines: a longer one is split by the behaviour it tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
KIT = "tests.support"
MAX_LINES = 600


def python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "node_modules" not in p.parts)


def module_name(path: Path) -> str:
    parts = path.relative_to(TESTS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module an `import from` names (relative ones resolved against `path`'s package)."""
    if not node.level:
        return node.module or ""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported_modules(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, module) of every module `path` (or `source` as if it were `path`) imports: `import`, `from ... import`
    (`module.name`, as each name may be a module), `importlib.import_module("...")`, `__import__("...")` and
    `pytest_plugins`."""
    code = path.read_text(encoding="utf-8") if source is None else source
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(code, filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = resolve(path, node)
            found += [(node.lineno, module if alias.name == "*" else f"{module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func):
            found += [(node.lineno, text) for a in node.args[:1] if (text := _text(a)) is not None]
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets
        ):
            found += [(node.lineno, text) for c in ast.walk(node.value) if (text := _text(c)) is not None]
    return found


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def is_test_module(module: str) -> bool:
    """A module of the tests package outside the kit: a test module, a conftest, or any other helper module."""
    return (module == "tests" or module.startswith("tests.")) and not (module == KIT or module.startswith(KIT + "."))


def test_the_layout_check_sees_every_way_of_importing_a_test_module() -> None:
    source = (
        "import tests.conftest\n"
        "from tests.dakota import conftest\n"
        "from .test_bulk_import_mapping import HEX24\n"
        "from . import test_roles\n"
        "from tests import support\n"
        "from tests.support import Kit\n"
        "from tests.support.bulk import post_bulk_raw\n"
        "def f():\n"
        "    from tests.fuzz.test_hostile_input import LIMIT\n"
        "    importlib.import_module('tests.webhooks.conftest')\n"
        "pytest_plugins = ['tests.clients.conftest']\n"
    )
    found = imported_modules(TESTS / "dakota" / "test_sample.py", source)
    assert sorted({m for _line, m in found if is_test_module(m)}) == [
        "tests.clients.conftest",
        "tests.conftest",
        "tests.dakota.conftest",
        "tests.dakota.test_bulk_import_mapping.HEX24",
        "tests.dakota.test_roles",
        "tests.fuzz.test_hostile_input.LIMIT",
        "tests.webhooks.conftest",
    ]


def test_no_module_imports_a_test_module() -> None:
    offending = [
        f"{path.relative_to(TESTS.parent)}:{line} imports {module}"
        for path in python_files()
        for line, module in imported_modules(path)
        if is_test_module(module)
    ]
    assert not offending, "move what these need into tests/support:\n" + "\n".join(offending)


def test_no_test_or_kit_module_is_longer_than_600_lines() -> None:
    too_long = {
        str(p.relative_to(TESTS.parent)): n
        for p in python_files()
        if p.name.startswith("test_") or KIT.replace(".", "/") in p.as_posix()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"split these by behaviour (at most {MAX_LINES} lines each): {too_long}"
