"""The import dialog's file checks, in the browser: bad files are refused with a clear message and nothing is sent.

One tab stays on the open Sumsub Import dialog for the whole module; no case here ever submits.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import ServedSandbox
from tests.support.dashboard import IMPORT_PATH, Dashboard, Sandbox

pytestmark = pytest.mark.served

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
XLSX = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml" + b"\x00" * 64


@pytest.fixture(scope="module")
def sandbox(served_sandbox: ServedSandbox) -> Iterator[Sandbox]:
    sb = Sandbox(served_sandbox.base_url)
    yield sb
    sb.http.close()


@pytest.fixture
def dialog(import_dialog: Dashboard) -> Iterator[Dashboard]:
    yield import_dialog
    assert import_dialog.api_requests("POST", IMPORT_PATH) == [], "a file check let a request through"


def refused(dialog: Dashboard, sandbox: Sandbox, name: str, content: bytes) -> str:
    """Choose the file; it must be refused with the import button disabled and nothing sent. Returns the message."""
    before = sandbox.total_customers()
    dialog.choose_csv(name, content)
    errors = dialog.page.locator("#csv-errors")
    assert errors.is_visible(), f"{name} was accepted"
    text = errors.inner_text()
    assert "nothing was sent" in text
    assert dialog.page.locator("#import-submit").is_disabled()
    dialog.page.click("#import-submit", force=True)  # a disabled button does nothing, even when clicked
    assert dialog.api_requests("POST", IMPORT_PATH) == []
    assert sandbox.total_customers() == before
    return text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\xef\xbb\xbf\r\n  \r\n\n", "is empty"),
        ("header-only.csv", b"token\r\n\r\n", "has the \u201ctoken\u201d header but no tokens"),
        ("wrong-header.csv", b"tokens\nabc\n", "The first row must be the header \u201ctoken\u201d"),
        ("no-header.csv", b"_act-sbx-jwt-abc.def.\n", "It looks like a share token: add a first line"),
        ("repeated-header.csv", b"token\nabc\ntoken\ndef\n", "Row 3 repeats the header"),
        ("no-token-cell.csv", b"token,note\nabc,x\n,y\n", "Row 3 has no value in the \u201ctoken\u201d column"),
        ("unclosed.csv", b'token\n"abc\ndef\n', "Row 2: a quoted value is never closed"),
        ("picture.png", PNG, "is not a CSV file (it ends in .png)"),
        ("tokens.xlsx", XLSX, "Spreadsheets can't be read here"),
        ("tokens", b"token\nabc\n", "it ends in no extension"),
        ("disguised.csv", PNG, "its content is a PNG image"),
        ("workbook.csv", XLSX, "its content is a ZIP archive"),
        ("latin1.csv", b"token\n\xe9t\xe9\n", "is not UTF-8 text"),
        ("huge.csv", b"token\n" + b"x" * (1024 * 1024), "the limit is 1 MB"),
    ],
)
def test_bad_files_are_refused_before_anything_is_sent(
    dialog: Dashboard, sandbox: Sandbox, name: str, content: bytes, message: str
) -> None:
    assert message in refused(dialog, sandbox, name, content)


def test_duplicate_tokens_refused_with_their_rows(dialog: Dashboard, sandbox: Sandbox) -> None:
    a, b = sandbox.token(), sandbox.token("us-ssn")
    text = refused(dialog, sandbox, "dupes.csv", f"token\n{a}\n{b}\n\n{a}\n {a} \n".encode())
    assert "Duplicate token on rows 2, 5 and 6" in text
    assert "single use" in text
    assert sandbox.token_state(a) == sandbox.token_state(b) == "active"


def test_more_than_100_tokens_refused_with_how_to_split(dialog: Dashboard, sandbox: Sandbox) -> None:
    tokens = [f"_act-sbx-jwt-{i:04d}" for i in range(250)]
    text = refused(dialog, sandbox, "many.csv", ("token\n" + "\n".join(tokens)).encode())
    assert "250 tokens; one import takes at most 100" in text
    assert "Split it into 3 files of at most 100 tokens each" in text

    dialog.choose_csv("hundred.csv", ("token\n" + "\n".join(tokens[:100])).encode())  # exactly 100 is fine
    assert "100 tokens ready to import" in dialog.page.locator("#csv-ready").inner_text()


@pytest.mark.parametrize(
    ("content", "expected", "note"),
    [
        (b"\xef\xbb\xbftoken\r\nAAA\r\nBBB\r\n", ["AAA", "BBB"], ""),
        (b'token\n  "AAA"  \n" BBB "\n"CC""C"\n', ["AAA", "BBB", 'CC"C'], ""),
        (b"\n\ntoken\n\nAAA\n   \n\nBBB", ["AAA", "BBB"], "5 blank lines ignored"),
        (b'Token,note\rAAA,first\rBBB,"second, with a comma"\r', ["AAA", "BBB"], "1 other column ignored"),
    ],
    ids=["bom-crlf", "quoted-whitespace", "blank-lines", "extra-column-cr"],
)
def test_csv_forms_that_are_accepted(dialog: Dashboard, content: bytes, expected: list[str], note: str) -> None:
    dialog.choose_csv("tokens.csv", content)
    ready = dialog.page.locator("#csv-ready").inner_text()
    assert f"{len(expected)} tokens ready to import" in ready
    assert note in ready
    previews = dialog.page.eval_on_selector_all("#csv-ready code", "els => els.map(e => e.title)")
    assert previews == expected
    assert dialog.page.get_by_role("button", name=f"Import {len(expected)} tokens").is_enabled()
