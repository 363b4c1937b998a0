"""ARCHITECTURE.md stays true: every module it names exists, every name it gives next to a module is defined there,
and every module of `simulator/` is in its layer table."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "ARCHITECTURE.md").read_text()
SIM = ROOT / "simulator"
CODE = re.compile(r"`([^`]+)`")


def _file(ref: str) -> Path | None:
    """A backticked module reference (`dakota/importer.py`, `sandbox.py`, `contracts/...`) as a path, if it is one."""
    if not ref.endswith((".py", ".yaml")) or " " in ref:
        return None
    for base in (SIM, ROOT):
        if (base / ref).exists():
            return base / ref
    if "/" not in ref:  # a file every package has (`routes.py`), or a contract named by its file name
        found = sorted([*SIM.rglob(ref), *(ROOT / "contracts").rglob(ref)])
        if found:
            return found[0]
    return ROOT / ref


def _rule_rows() -> list[str]:
    section = DOC.split("## Where each rule of the guide lives", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| rule")]


def test_every_file_it_names_exists() -> None:
    missing = []
    for ref in CODE.findall(DOC):
        path = _file(ref)
        if path is not None and not path.exists():
            missing.append(ref)
    assert not missing, f"ARCHITECTURE.md names files that do not exist: {missing}"


def test_every_name_in_the_rule_table_is_defined_where_it_says() -> None:
    """`module.py` `Name` (or `Class.method`) in a row: the name is defined (or assigned) in that module."""
    wrong = []
    rows = _rule_rows()
    assert len(rows) >= 15
    for row in rows:
        where = row.split("|")[2]
        current: Path | None = None
        for ref in CODE.findall(where):
            path = _file(ref)
            if path is not None:
                current = path
                continue
            if current is None or current.suffix != ".py" or not re.fullmatch(r"[A-Za-z_][\w.]*", ref):
                continue
            name = ref.split(".")[-1]
            if not re.search(rf"^\s*(def |class )?{re.escape(name)}\b", current.read_text(), re.MULTILINE):
                wrong.append(f"{ref} in {current.relative_to(ROOT)}")
    assert not wrong, f"ARCHITECTURE.md's rule table names what is not there: {wrong}"


def test_the_rule_table_covers_the_guides_rules() -> None:
    rules = " ".join(row.split("|")[1] for row in _rule_rows()).lower()
    for topic in ("single use", "20 minutes", "clientid", "10513", "row errors", "mapping", "idempotency", "level"):
        assert topic in rules, topic


def test_every_package_and_top_level_module_is_in_the_layer_table() -> None:
    table = DOC.split("| layer |", 1)[1].split("\n\n", 1)[0]
    names = [p.name for p in SIM.iterdir() if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"]
    missing = [n for n in names if n != "__init__.py" and f"`{n}" not in table and f"`{n}/" not in table]
    assert not missing, f"modules missing from ARCHITECTURE.md's layer table: {missing}"
