"""The dashboard in a real browser: sign in, customers (search, paging, detail) and the guide's CSV import."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests

from tests.support import ADMIN_KEY, VIEWER_KEY
from tests.support.dashboard import IMPORT_PATH, KEY_STORAGE, Dashboard, Sandbox

pytestmark = pytest.mark.served


def result_rows(dash: Dashboard) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = dash.page.eval_on_selector_all(
        "#results-body tr",
        """rows => rows.map(r => ({
            row: r.dataset.row,
            name: r.cells[1].innerText.trim(),
            result: r.cells[2].innerText.trim(),
            detail: r.cells[3].innerText.trim(),
        }))""",
    )
    return rows


def table_ids(dash: Dashboard) -> list[str]:
    ids: list[str] = dash.page.eval_on_selector_all("#customers-body tr", "rows => rows.map(r => r.dataset.customerId)")
    return ids


# ---------------------------------------------------------------------- serving
def test_template_download_is_the_token_header(dash: Dashboard) -> None:
    dash.open()
    dash.open_import()
    link = dash.page.get_by_role("link", name="Download template")
    with dash.page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "sumsub-import-template.csv"
    with open(download.path(), "rb") as fh:
        assert fh.read() == b"token\n"

    resp = requests.get(f"{dash.base_url}/dashboard/template.csv", timeout=10)
    assert resp.status_code == 200
    assert resp.content == b"token\n"
    assert resp.headers["Content-Type"].startswith("text/csv")
    disposition = resp.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "sumsub-import-template.csv" in disposition


def test_page_loads_only_from_the_sandbox(dash: Dashboard) -> None:
    resp = requests.get(f"{dash.base_url}/dashboard/", timeout=10)
    assert resp.status_code == 200 and "text/html" in resp.headers["Content-Type"]
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert requests.get(f"{dash.base_url}/dashboard", timeout=10, allow_redirects=False).status_code in (301, 308)

    dash.open()
    dash.open_import()
    urls = [r.url for r in dash.requests]
    assert any(u.endswith("/dashboard/static/app.js") for u in urls)
    assert any(u.endswith("/dashboard/static/app.css") for u in urls)
    assert all(u.startswith(dash.base_url + "/") for u in urls), urls
    assert dash.page.locator("#base-url").inner_text() == dash.base_url


# ---------------------------------------------------------------------- sign in
def test_sign_in_with_the_seeded_keys_and_sign_out(dash: Dashboard) -> None:
    page = dash.page
    dash.open(key=None)
    page.fill("#api-key", "dk_not_a_real_key")
    page.click("#signin-submit")
    page.wait_for_function("() => document.getElementById('signin-error').textContent.includes('Invalid API key')")
    assert page.locator("#view-signin").is_visible()

    page.get_by_role("button", name="Use admin key").click()
    page.wait_for_selector("#view-customers:not([hidden])")
    dash.wait_list_loaded()
    assert page.locator("#key-badge").inner_text().strip() == "Sandbox admin"
    assert page.evaluate(f"sessionStorage.getItem({KEY_STORAGE!r})") == ADMIN_KEY
    assert "0 customers" in page.locator("#customers-count").inner_text()
    assert "No customers yet" in page.locator("#customers-empty").inner_text()

    page.reload()  # the key survives a reload of the tab
    page.wait_for_selector("#view-customers:not([hidden])")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#view-signin:not([hidden])")
    assert page.evaluate(f"sessionStorage.getItem({KEY_STORAGE!r})") is None
    page.get_by_role("button", name="Use viewer key").click()
    page.wait_for_selector("#view-customers:not([hidden])")
    assert page.locator("#key-badge").inner_text().strip() == "Sandbox viewer"


# ---------------------------------------------------------------------- the import
def test_mixed_csv_import_shows_per_row_results(dash: Dashboard, sandbox: Sandbox) -> None:
    expired = sandbox.token()
    sandbox.advance_clock(1260)  # past the 20 minute TTL of `expired` only
    valid = sandbox.token("gb-passport")
    valid2 = sandbox.token("us-ssn")
    reused = sandbox.token("non-ascii")
    sandbox.import_tokens([reused])
    before = sandbox.total_customers()

    # A BOM, CRLF endings, a quoted value, surrounding whitespace and a blank line: all accepted.
    csv = f'\ufefftoken\r\n{valid}\r\n  {expired}  \r\n\r\n"{reused}"\r\nnot-a-share-token\r\n {valid2}\r\n'
    dash.open()
    dash.open_import()
    dash.choose_csv("mixed.csv", csv.encode())
    ready = dash.page.locator("#csv-ready").inner_text()
    assert "5 tokens ready to import" in ready and "1 blank line ignored" in ready

    with dash.page.expect_request(lambda r: r.url.endswith(IMPORT_PATH) and r.method == "POST") as req_info:
        dash.page.get_by_role("button", name="Import 5 tokens").click()
    request = req_info.value
    assert request.post_data_json == {"tokens": [valid, expired, reused, "not-a-share-token", valid2]}
    headers = request.headers
    assert headers["x-api-key"] == ADMIN_KEY
    assert uuid.UUID(headers["x-idempotency-key"]).version == 4

    dash.page.wait_for_selector("#import-results:not([hidden])")
    assert dash.page.locator("#stat-total").inner_text() == "5"
    assert dash.page.locator("#stat-succeeded").inner_text() == "2"
    assert dash.page.locator("#stat-failed").inner_text() == "3"
    rows = result_rows(dash)
    assert [r["row"] for r in rows] == ["2", "3", "5", "6", "7"]  # the file's rows (1 is the header, 4 is blank)
    assert [r["result"] for r in rows] == ["Imported", "Failed", "Failed", "Failed", "Imported"]
    assert rows[0]["name"] == "Olivia Bennett (from Sumsub)"
    assert "Share token expired" in rows[1]["detail"]
    assert rows[2]["detail"].startswith("Tokens are single-use")
    assert rows[3]["detail"].startswith("Failed to redeem share token: Token is invalid")
    assert sandbox.total_customers() == before + 2
    dash.screenshot("dashboard-import-results.png")

    # The ids are links to the customer's detail view.
    listed = {c["id"]: c for c in sandbox.customers(limit="100")["data"]}
    first = dash.page.locator("#results-body tr").first
    customer_id = first.locator("a").nth(0).inner_text().strip()
    application_id = first.locator("a").nth(1).inner_text().strip()
    assert listed[customer_id]["application_id"] == application_id
    first.locator("a").nth(1).click()
    dash.page.wait_for_selector("#application")
    assert not dash.page.locator("#add-dialog").is_visible()
    assert dash.page.locator("#detail-title").inner_text() == "Olivia Bennett (from Sumsub)"
    assert application_id in dash.page.locator("#application").inner_text()
    assert dash.page.evaluate("document.activeElement.id") == "application"


def test_import_another_file_after_results(dash: Dashboard, sandbox: Sandbox) -> None:
    dash.open()
    dash.open_import()
    dash.choose_csv("one.csv", f"token\n{sandbox.token()}\n".encode())
    dash.page.get_by_role("button", name="Import 1 token").click()
    dash.page.wait_for_selector("#import-results:not([hidden])")
    assert result_rows(dash)[0]["result"] == "Imported"
    dash.page.get_by_role("button", name="Import another file").click()
    assert dash.page.locator("#import-submit").is_disabled()
    dash.choose_csv("two.csv", f"token\n{sandbox.token('us-ssn')}\n".encode())
    dash.page.get_by_role("button", name="Import 1 token").click()
    dash.page.wait_for_selector("#import-results:not([hidden])")
    assert result_rows(dash)[0]["name"] == "James Carter (from Sumsub)"
    dash.page.get_by_role("button", name="Done").click()
    dash.wait_list_loaded()
    assert len(table_ids(dash)) == 2


def test_viewer_key_sees_the_permission_problem(dash: Dashboard, sandbox: Sandbox) -> None:
    token = sandbox.token()
    dash.open(key=VIEWER_KEY)
    dash.open_import()
    dash.choose_csv("one.csv", f"token\n{token}\n".encode())
    dash.page.get_by_role("button", name="Import 1 token").click()
    error = dash.page.locator("#import-error")
    error.wait_for()
    text = error.inner_text()
    assert "Token import requires manage_compliance_applications" in text
    assert "HTTP 401" in text
    assert dash.page.locator("#import-results").is_hidden()
    assert sandbox.total_customers() == 0
    assert sandbox.token_state(token) == "active"


def test_api_problem_details_are_shown(dash: Dashboard) -> None:
    detail = "tokens must contain at most 100 items; split the batch"  # the contract's text (overlays/dakota.yaml)
    problem = {
        "type": "https://api.platform.dakota.xyz/problems/invalid-request",
        "title": "Invalid Request",
        "status": 400,
        "detail": detail,
        "request_id": "req_test",
    }
    dash.page.route(
        f"**{IMPORT_PATH}", lambda route: route.fulfill(status=400, json=problem, content_type="application/json")
    )
    dash.open()
    dash.open_import()
    dash.choose_csv("one.csv", b"token\nAAA\n")
    dash.page.get_by_role("button", name="Import 1 token").click()
    error = dash.page.locator("#import-error")
    error.wait_for()
    assert detail in error.inner_text()
    assert "req_test" in error.inner_text()
    assert dash.page.locator("#import-submit").is_enabled()  # fix and retry


# ---------------------------------------------------------------------- manual mode
def test_manual_mode_explains_a_missing_create_endpoint(dash: Dashboard) -> None:
    problem = {"title": "Not found", "status": 404, "detail": "Not found: no such endpoint"}
    dash.page.route(
        re.compile(r".*/customers$"),
        lambda route: (
            route.fulfill(status=404, json=problem, content_type="application/problem+json")
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    dash.open()
    dash.page.click("#add-customer")
    assert dash.page.get_by_role("switch", name="Sumsub Import").get_attribute("aria-checked") == "false"
    dash.page.get_by_label("Name", exact=True).fill("Jane Manual")
    dash.page.get_by_role("button", name="Create customer").click()
    result = dash.page.locator("#manual-result [role=alert]")
    result.wait_for()
    assert "isn't available on this sandbox yet" in result.inner_text()
    assert "Not found: no such endpoint" in result.inner_text()


def test_manual_mode_creates_a_customer(dash: Dashboard, sandbox: Sandbox) -> None:
    dash.open()
    dash.page.click("#add-customer")
    dash.page.get_by_role("button", name="Create customer").click()  # no name yet
    assert "Enter the customer's name" in dash.page.locator("#manual-result").inner_text()
    dash.page.get_by_label("Name", exact=True).fill("Jane Manual")
    dash.page.get_by_label("External ID").fill("crm-42")
    with dash.page.expect_response(lambda r: r.url.endswith("/customers") and r.request.method == "POST") as info:
        dash.page.get_by_role("button", name="Create customer").click()
    if info.value.status in (404, 405):
        pytest.skip("POST /customers is not in this sandbox yet")
    assert info.value.status == 201, info.value.text()
    assert info.value.request.post_data_json == {
        "name": "Jane Manual",
        "customer_type": "individual",
        "external_id": "crm-42",
    }
    dash.page.locator("#manual-result .banner-ok").wait_for()
    assert "Jane Manual was created" in dash.page.locator("#manual-result").inner_text()
    assert [c["name"] for c in sandbox.customers()["data"]] == ["Jane Manual"]


# ---------------------------------------------------------------------- customers list
def import_many(sandbox: Sandbox, profiles: list[str]) -> list[dict[str, Any]]:
    result = sandbox.import_tokens([sandbox.token(p) for p in profiles])
    assert result["succeeded"] == len(profiles), result
    return list(result["results"])


def test_search_and_paging(dash: Dashboard, sandbox: Sandbox) -> None:
    profiles = ["gb-passport", "us-ssn", "us-no-ssn", "no-address", "residence-permit", "weaker-level"] * 2
    import_many(sandbox, profiles)
    import_many(sandbox, ["non-ascii"])
    everyone = {c["id"] for c in sandbox.customers(limit="100")["data"]}
    assert len(everyone) == 13
    page = dash.page
    dash.open()
    page.get_by_label("Rows per page").select_option("10")
    dash.wait_list_loaded()
    first_page = table_ids(dash)
    assert len(first_page) == 10
    assert page.locator("#customers-count").inner_text() == "Showing 1\u201310 of 13 customers"
    assert page.get_by_role("button", name="Previous").is_disabled()

    with page.expect_request(lambda r: "starting_after=" in r.url) as nxt:
        page.get_by_role("button", name="Next").click()
    assert f"starting_after={first_page[-1]}" in nxt.value.url
    dash.wait_list_loaded()
    second_page = table_ids(dash)
    assert len(second_page) == 3
    assert set(first_page) | set(second_page) == everyone
    assert page.locator("#customers-count").inner_text() == "Showing 11\u201313 of 13 customers"
    assert page.get_by_role("button", name="Next").is_disabled()

    with page.expect_request(lambda r: "ending_before=" in r.url) as prev:
        page.get_by_role("button", name="Previous").click()
    assert f"ending_before={second_page[0]}" in prev.value.url
    dash.wait_list_loaded()
    assert table_ids(dash) == first_page
    assert page.get_by_role("button", name="Previous").is_disabled()

    search = page.get_by_label("Search customers")
    with page.expect_request(lambda r: "search=garc" in r.url.lower()):
        search.fill("garc\u00eda")
    dash.wait_list_loaded()
    names = page.eval_on_selector_all("#customers-body .row-link", "els => els.map(e => e.textContent)")
    expected = [
        c["name"] for c in sandbox.customers(search="garc\u00eda", sort_by="created_at", sort_dir="desc")["data"]
    ]
    assert names == expected == ["Ana Garc\u00eda (from Sumsub)"] * 2
    assert page.locator("#customers-count").inner_text() == "Showing 1\u20132 of 2 customers matching"

    search.fill("nobody-like-this")
    search.press("Enter")
    page.wait_for_selector("#customers-empty:not([hidden])")
    assert "No customers match" in page.locator("#customers-empty").inner_text()
    search.fill("")
    search.press("Enter")
    dash.wait_list_loaded()
    assert table_ids(dash) == first_page


def test_detail_view_lists_what_is_missing(dash: Dashboard, sandbox: Sandbox) -> None:
    row = import_many(sandbox, ["us-no-ssn"])[0]
    expected = sandbox.application(row["customer_id"])
    validation = expected["validation"]
    fields = validation["primary_individual"]["details"]["missing_fields"]
    assert "ssn" in fields and "employment_status" in fields

    dash.open()
    dash.page.get_by_role("link", name=row["name"]).click()
    page = dash.page
    page.wait_for_selector("#missing")
    assert page.locator("#detail-title").inner_text() == row["name"]
    missing = page.locator("#missing")
    assert "Not ready to submit" in missing.inner_text()
    shown_fields = missing.locator("[data-field]").evaluate_all("els => els.map(e => e.dataset.field)")
    assert shown_fields == fields
    shown_docs = missing.locator("[data-purpose]").evaluate_all("els => els.map(e => e.dataset.purpose)")
    assert shown_docs == [d["purpose"] for d in validation["primary_individual"]["documents"]["missing_documents"]]
    assert "Required" in missing.locator("[data-purpose=individual_source_of_wealth]").inner_text()
    shown_atts = missing.locator("[data-attestation]").evaluate_all("els => els.map(e => e.dataset.attestation)")
    assert (
        shown_atts
        == validation["attestations"]["missing"]
        == [
            "e_sign",
            "terms_of_service",
            "privacy_policy",
            "information_accuracy",
        ]
    )
    individual = expected["entities"]["primary_individual"]
    body = page.locator("#detail-content").inner_text()
    assert individual["first_name"] in body and individual["date_of_birth"] in body
    assert individual["sumsub_verification"]["provider_applicant_id"] in body
    assert "Approved" in page.locator("section[aria-labelledby=card-sumsub-verification]").inner_text()

    page.get_by_role("link", name="Customers", exact=True).first.click()
    page.wait_for_selector("#view-customers:not([hidden])")


def test_detail_view_of_a_weaker_level_donor_shows_documents_requested(dash: Dashboard, sandbox: Sandbox) -> None:
    row = import_many(sandbox, ["weaker-level"])[0]
    dash.open(fragment=f"#/customers/{row['customer_id']}")
    dash.page.wait_for_selector("#missing")
    sumsub = dash.page.locator("section[aria-labelledby=card-sumsub-verification]").inner_text()
    assert "Documents requested" in sumsub
    missing = dash.page.locator("#missing [data-purpose=individual_identity]").inner_text()
    assert "Required" in missing


def test_unknown_customer_shows_the_problem(dash: Dashboard) -> None:
    dash.open(fragment="#/customers/2hSbxNoSuchCustomer00000000")
    dash.page.wait_for_selector("#detail-title")
    assert "not available" in dash.page.locator("#detail-title").inner_text()
    assert "HTTP 404" in dash.page.locator("#detail-content").inner_text()


# ---------------------------------------------------------------------- accessibility
CONTRAST_JS = """
() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.checkVisibility() || el.closest(':disabled, .visually-hidden')) continue;
    const st = getComputedStyle(el);
    const fg = parse(st.color).slice(0, 3);
    const [l1, l2] = [lum(fg), lum(background(el))].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(st.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
    const what = `${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}"`;
    if (ratio < (large ? 3 : 4.5)) out.push(`${what} ${ratio.toFixed(2)}`);
  }
  return out;
}
"""

UNLABELLED_JS = """
() => Array.from(document.querySelectorAll('input, select, textarea, button, a[href]'))
  .filter((el) => el.checkVisibility())
  .filter((el) => {
    if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return false;
    if (el.labels && el.labels.length) return false;
    return !(el.textContent || '').trim();
  })
  .map((el) => el.outerHTML.slice(0, 80))
"""


def test_keyboard_labels_and_contrast(dash: Dashboard, sandbox: Sandbox) -> None:
    import_many(sandbox, ["gb-passport"])
    page = dash.page
    dash.open(key=None)
    page.wait_for_selector("#use-admin:not([hidden])")
    assert page.evaluate(UNLABELLED_JS) == []
    assert page.evaluate(CONTRAST_JS) == []
    page.get_by_label("API key").fill(ADMIN_KEY)
    page.keyboard.press("Enter")
    dash.wait_list_loaded()
    assert page.evaluate(UNLABELLED_JS) == []
    assert page.evaluate(CONTRAST_JS) == []

    # The dialog and its Manual / Sumsub Import switch work from the keyboard.
    page.get_by_role("button", name="Add customer").focus()
    page.keyboard.press("Enter")
    switch = page.get_by_role("switch", name="Sumsub Import")
    assert page.evaluate("document.activeElement.id") == "mode-switch"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # visible focus
    page.keyboard.press("Space")
    assert switch.get_attribute("aria-checked") == "true"
    assert page.locator("#panel-import").is_visible()
    assert page.evaluate(UNLABELLED_JS) == []
    assert page.evaluate(CONTRAST_JS) == []
    assert page.locator("#csv-status").get_attribute("aria-live") == "polite"
    assert page.locator("#import-summary").get_attribute("aria-live") == "polite"
    page.keyboard.press("Enter")
    assert switch.get_attribute("aria-checked") == "false"
    assert page.locator("#panel-manual").is_visible()
    assert page.evaluate(UNLABELLED_JS) == []
    page.keyboard.press("Escape")
    page.wait_for_selector("#add-dialog", state="hidden")
    assert page.evaluate("document.activeElement.id") == "add-customer"

    dash.wait_list_loaded()  # the list may re-render after the dialog closes; focus a row of the final render
    page.wait_for_selector("#customers-body .row-link")
    page.locator("#customers-body .row-link").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#missing", timeout=20_000)
    assert page.evaluate(CONTRAST_JS) == []
    assert page.evaluate(UNLABELLED_JS) == []
