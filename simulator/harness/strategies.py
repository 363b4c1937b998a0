"""Hypothesis strategies for Reusable KYC data: Sumsub applicants, share tokens and bulk-import batches.

    from simulator.harness import strategies as kst

    @given(kst.applicants())                  # a donor applicant in the fixture-profile layout
    @given(kst.junk_tokens())                 # strings no sandbox issued (malformed, token-shaped, unicode, huge)
    @given(kst.batches(real_tokens))          # 1..100 tokens mixing real ones (with repeats) and junk

Needs `hypothesis` (the `testing` extra); nothing else in the package imports this module.
"""

from __future__ import annotations

import base64
import json
import string
from datetime import date
from typing import Any

import pycountry
from hypothesis import strategies as st

# Countries Sumsub sees every day; all real ISO 3166-1 alpha-3 codes, sorted so draws are reproducible.
COMMON_ALPHA3 = (
    "GBR", "USA", "DEU", "FRA", "ESP", "ITA", "NLD", "IRL", "PRT", "POL", "SWE", "DNK", "CHE", "AUT", "BEL",
    "CAN", "MEX", "BRA", "ARG", "JPN", "KOR", "IND", "ARE", "SGP", "AUS", "NZL", "ZAF", "NGA", "GRC", "UKR",
)  # fmt: skip
ALL_ALPHA3 = tuple(sorted(str(c.alpha_3) for c in pycountry.countries))
IDENTITY_DOC_TYPES = ("PASSPORT", "DRIVERS", "RESIDENCE_PERMIT", "ID_CARD")
DAKOTA_ACCEPTED = ("PASSPORT", "DRIVERS", "RESIDENCE_PERMIT")
TOKEN_PREFIX = "_act-sbx-jwt-"
MAX_TOKEN_LENGTH = 1024


def alpha3(common: bool = True) -> st.SearchStrategy[str]:
    """An ISO 3166-1 alpha-3 code as Sumsub sends it (mostly common countries, sometimes any)."""
    if common:
        return st.one_of(st.sampled_from(COMMON_ALPHA3), st.sampled_from(ALL_ALPHA3))
    return st.sampled_from(ALL_ALPHA3)


_LATIN_NAMES = st.sampled_from(
    ["Olivia", "James", "Zoë", "José", "Łukasz", "Siobhán", "Nguyễn", "O'Brien", "Anne-Marie", "Müller", "García"]
)
_NON_LATIN = st.sampled_from(["七夏", "鈴木", "Γεώργιος", "Юлія", "민준", "محمد", "שרה"])


def names(allow_non_latin: bool = True) -> st.SearchStrategy[str]:
    """A first or last name: real-looking ones, diacritics, apostrophes, hyphens, other scripts, or random."""
    generated = st.text(
        alphabet=st.characters(categories=["Lu", "Ll"], max_codepoint=0x024F), min_size=1, max_size=40
    ).filter(lambda s: s.strip() != "")
    parts = [_LATIN_NAMES, generated]
    if allow_non_latin:
        parts.append(_NON_LATIN)
    return st.one_of(*parts)


def dates_of_birth() -> st.SearchStrategy[str]:
    return st.dates(min_value=date(1920, 1, 1), max_value=date(2005, 12, 31)).map(date.isoformat)


def addresses() -> st.SearchStrategy[dict[str, str]]:
    """A Sumsub address: street, building number, town, postcode, country, and sometimes the optional parts."""
    text = st.text(alphabet=string.ascii_letters + " -'", min_size=1, max_size=30).filter(lambda s: s.strip() != "")
    optional = st.fixed_dictionaries(
        {},
        optional={
            "subStreet": text,
            "flatNumber": st.from_regex(r"\A[0-9]{1,4}[A-Z]?\Z"),
            "buildingName": text,
            "state": st.one_of(st.sampled_from(["CA", "NY", "TX", "ON", "Lazio", "Madrid"]), text),
            "townEn": text,
        },
    )
    required = st.fixed_dictionaries(
        {
            "street": text,
            "buildingNumber": st.from_regex(r"\A[1-9][0-9]{0,3}[A-Z]?\Z"),
            "town": text,
            "postCode": st.from_regex(r"\A[A-Z0-9]{3,5}( [A-Z0-9]{3})?\Z"),
            "country": alpha3(),
        }
    )
    return st.builds(lambda r, o: {**r, **o}, required, optional)


def id_docs(types: tuple[str, ...] = IDENTITY_DOC_TYPES) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Identity document metadata (one document, both sides where it has two), as Sumsub extracts it."""

    @st.composite
    def build(draw: st.DrawFn) -> list[dict[str, Any]]:
        doc_type = draw(st.sampled_from(types))
        country = draw(alpha3())
        number = draw(st.from_regex(r"\A[A-Z]{1,2}[0-9]{6,8}\Z"))
        meta: dict[str, Any] = {
            "idDocType": doc_type,
            "country": country,
            "firstName": draw(names()).upper(),
            "lastName": draw(names()).upper(),
            "number": number,
        }
        if draw(st.booleans()):
            meta["dob"] = draw(dates_of_birth())
        if doc_type == "PASSPORT":
            return [meta]
        back = {"idDocType": doc_type, "idDocSubType": "BACK_SIDE", "country": country, "number": number}
        return [{**meta, "idDocSubType": "FRONT_SIDE"}, back]

    return build()


def fixed_info() -> st.SearchStrategy[dict[str, Any]]:
    """Sumsub `fixedInfo`: names, date of birth, nationality, TIN and addresses, each sometimes missing."""
    return st.fixed_dictionaries(
        {},
        optional={
            "firstName": names(),
            "lastName": names(),
            "middleName": names(allow_non_latin=False),
            "dob": dates_of_birth(),
            "nationality": alpha3(),
            "country": alpha3(),
            "tin": st.one_of(
                st.from_regex(r"\A[0-9]{9}\Z"), st.from_regex(r"\A[0-9]{3}-[0-9]{2}-[0-9]{4}\Z"), st.text(max_size=12)
            ),
            "addresses": st.lists(addresses(), min_size=1, max_size=2),
        },
    )


def applicants(
    *, doc_types: tuple[str, ...] = IDENTITY_DOC_TYPES, approved: bool | None = True
) -> st.SearchStrategy[dict[str, Any]]:
    """A donor applicant in the fixture-profile layout (`POST /_sandbox/donors` and `via: sumsub` take it).

    `approved=None` draws GREEN, RED or no review at all.
    """
    review: st.SearchStrategy[Any]
    if approved is True:
        review = st.just({"reviewAnswer": "GREEN"})
    elif approved is False:
        review = st.sampled_from(
            [None, {"reviewAnswer": "RED", "rejectLabels": ["FORGERY"], "reviewRejectType": "FINAL"}]
        )
    else:
        review = st.sampled_from(
            [{"reviewAnswer": "GREEN"}, None, {"reviewAnswer": "RED", "rejectLabels": ["BAD_PROOF_OF_IDENTITY"]}]
        )
    email = st.one_of(
        st.emails().filter(lambda e: len(e) <= 200),
        st.sampled_from(["olivia.bennett@mailbox.co.uk", "not-an-email", ""]),
    )
    return st.fixed_dictionaries(
        {
            "level": st.just("basic-kyc-level"),
            "email": email,
            "fixedInfo": fixed_info(),
            "idDocs": id_docs(doc_types),
            "review": review,
        },
        optional={"phone": st.from_regex(r"\A\+[1-9][0-9]{7,13}\Z")},
    )


def applicant_bodies(external_user_id: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """The JSON body of Sumsub's create-applicant request."""
    ext = external_user_id or st.uuids().map(lambda u: f"user-{u}")
    return st.builds(
        lambda e, a: {"externalUserId": e, "email": a["email"], "fixedInfo": a["fixedInfo"]}, ext, applicants()
    )


# ---------------------------------------------------------------------------------------------- tokens
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_like() -> st.SearchStrategy[str]:
    """A well-formed sandbox share token nobody minted: `_act-sbx-jwt-<header>.<payload>.`."""
    return st.uuids().map(
        lambda u: (
            TOKEN_PREFIX
            + _b64(b'{"alg":"none"}')
            + "."
            + _b64(json.dumps({"jti": f"_act-sbx-{u}", "url": "http://127.0.0.1:8080"}).encode())
            + "."
        )
    )


def malformed_tokens() -> st.SearchStrategy[str]:
    """Strings that are not share tokens: empty, blank, truncated, wrong prefix, control characters."""
    return st.one_of(
        st.sampled_from(["", " ", "null", "undefined", TOKEN_PREFIX, TOKEN_PREFIX + ".", "Bearer xyz", "\x00"]),
        token_like().map(lambda t: t[: len(t) // 2]),
        token_like().map(lambda t: t.replace(TOKEN_PREFIX, "_act-prd-jwt-")),
        st.text(alphabet=string.printable, max_size=64),
    )


def unicode_tokens() -> st.SearchStrategy[str]:
    """Any unicode text (no surrogates), including emoji and right-to-left scripts."""
    return st.text(min_size=1, max_size=80)


def huge_tokens() -> st.SearchStrategy[str]:
    """Longer than any real token (the sandbox caps them at 1 KB)."""
    return st.integers(MAX_TOKEN_LENGTH + 1, 20_000).map(lambda n: TOKEN_PREFIX + "A" * n)


def junk_tokens() -> st.SearchStrategy[str]:
    """Any string no sandbox issued."""
    return st.one_of(token_like(), malformed_tokens(), unicode_tokens(), huge_tokens())


def batches(real_tokens: list[str], *, max_size: int = 100) -> st.SearchStrategy[list[str]]:
    """1..max_size tokens mixing references to `real_tokens` (repeats allowed) and junk, in any order."""
    if not real_tokens:
        return st.lists(junk_tokens(), min_size=1, max_size=max_size)
    return st.lists(st.one_of(st.sampled_from(real_tokens), junk_tokens()), min_size=1, max_size=max_size)
