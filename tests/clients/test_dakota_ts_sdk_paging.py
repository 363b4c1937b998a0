"""Dakota's TypeScript SDK pages every list the sandbox serves to its end, and reads an application's entities.

The SDK (github.com/dakota-xyz/dakota-ts-sdk) is not on npm, so its paging and `applications.get` are emulated
here step by step from its source (commit 25897c1632f830dbec89346b5c7644d4d56ef5da):

- `src/client/resources/base.ts`, `BaseResource.paginate`: GET `path` with the caller's params, plus
  `starting_after=<cursor>` once there is a cursor; reads `{data, meta?: {has_more_after}}`.
- `src/client/pagination.ts`, `PaginatedIterator.fetchNextPage` / `next` and `defaultCursorExtractor`: the cursor is
  the last item's `id` (an item without one throws "Item does not have an id field for cursor extraction"), taken
  from every non-empty page; the next page is fetched while `meta.has_more_after` is true; an empty page ends it.
- `src/client/transport.ts`, `buildHeaders` / `addAuthHeader`: `Content-Type` and `Accept: application/json`,
  `User-Agent: dakota-ts-sdk/1.0.0`, and `x-api-key` (an `X-Application-Token` for `/applications...` when the
  client was given one).
- `src/client/resources/applications.ts`, `get`: GET `/applications/{id}` with no query at all.
- `src/client/resources/{customers,applications,events,webhooks}.ts`: `customers.list()` pages `/customers`,
  `applications.list()` `/applications`, `events.list()` `/events`, `webhooks.listTargets()` `/webhooks/targets`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import ADMIN_KEY, Kit, mint_and_import, target_for

SDK_HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "dakota-ts-sdk/1.0.0"}
LISTS = ["/customers", "/applications", "/events", "/webhooks/targets"]


class SdkError(Exception):
    """What the SDK's iterator throws."""


def sdk_paginate(kit: Kit, path: str, params: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], int]:
    """`client.<resource>.list(params).toArray()` with an API key: every item, and how many pages it fetched."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if cursor:
            query["starting_after"] = cursor
        resp = kit.http.get(kit.base_url + path, params=query, headers={**SDK_HEADERS, "x-api-key": ADMIN_KEY})
        if not resp.ok:
            raise SdkError(f"APIError {resp.status_code}: {resp.text}")
        pages += 1
        body = resp.json()
        data = body.get("data") or []
        if data:
            last = data[-1]
            if not last.get("id"):
                raise SdkError("Item does not have an id field for cursor extraction")
            cursor = str(last["id"])
        has_more = bool((body.get("meta") or {}).get("has_more_after", False))
        items.extend(data)
        if not data or not has_more:
            return items, pages


def all_ids(kit: Kit, path: str, key: str = "id") -> list[str]:
    resp = kit.admin.http.get(kit.base_url + path, params={"limit": 100}, headers={"x-api-key": ADMIN_KEY})
    assert resp.status_code == 200, resp.text
    assert resp.json()["meta"]["has_more_after"] is False
    return [str(item[key]) for item in resp.json()["data"]]


@pytest.fixture
def five_of_each(kit: Kit) -> Kit:
    """Five imported customers (each with an application and a `customer.created` event) and five webhook targets."""
    result = kit.bulk([kit.token("gb-passport") for _ in range(5)])
    assert result["succeeded"] == 5, result
    for i in range(5):
        target_for(kit, f"https://hooks.example/{i}")
    return kit


@pytest.mark.parametrize("path", LISTS)
def test_the_ts_sdk_pages_each_list_to_its_end(five_of_each: Kit, path: str) -> None:
    kit = five_of_each
    expected = all_ids(kit, path, "application_id" if path == "/applications" else "id")
    assert len(expected) >= 5

    items, pages = sdk_paginate(kit, path, {"limit": 2})

    assert [str(i["id"]) for i in items] == expected  # every item once, in the list's order
    assert pages == (len(expected) + 1) // 2


def test_application_list_items_carry_an_id_equal_to_their_application_id(five_of_each: Kit) -> None:
    resp = five_of_each.admin.list_applications(limit=3)
    assert resp.status_code == 200, resp.text
    for item in resp.json()["data"]:
        assert item["id"] == item["application_id"]


def test_the_ts_sdk_application_get_sees_the_imported_entities(kit: Kit) -> None:
    row = mint_and_import(kit, "gb-passport")
    token = kit.admin.application_token(row["customer_id"])
    headers = {**SDK_HEADERS, "x-application-token": token}

    resp = kit.http.get(f"{kit.base_url}/applications/{row['application_id']}", headers=headers)

    assert resp.status_code == 200, resp.text
    individual = resp.json()["entities"]["primary_individual"]
    assert (individual["first_name"], individual["last_name"]) == ("Olivia", "Bennett")
    assert individual["sumsub_verification"]["sumsub_review_status"] == "approved"
    assert "validation" not in resp.json()
