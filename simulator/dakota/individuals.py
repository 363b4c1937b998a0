"""Step 3's individual details (`PUT /applications/{id}/individual-details`): the rules beyond the contract.

The contract (`IndividualRequest` in contracts/openapi/dakota.yaml) has already checked the body's shape: types,
required fields (roles, name, date_of_birth, nationalities, address, email_address), enums, dates and the SSN
pattern. What is left is Dakota's domain: who may be an individual, age, real country codes, usable email domains,
the fields an individual must give, and an SSN for US persons. Each field has one small validator;
`validate_individual` runs them in the order the form lists them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pycountry

# The enums the contract declares for these fields (a test keeps them equal); the messages name them.
EMPLOYMENT = ("employed", "self_employed", "unemployed", "student", "retired")
PURPOSES = (
    "investing",
    "sending_and_receiving_payments",
    "storage_of_funds_or_digital_assets",
    "making_online_payments",
    "trading_on_other_platforms",
)
WEALTH = (
    "investments",
    "employment",
    "court_settlement",
    "lottery_winnings",
    "retirement_income",
    "savings",
    "sale_of_assets",
    "family_funds",
    "gambling_winnings",
    "gift",
    "inheritance",
    "insurance_claim",
    "loan",
    "redundancy_severance",
    "benefits",
)
MINIMUM_AGE = 18
_EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")
_TEST_DOMAINS = ("example.com", "example.org", "example.net", "test.com")
_TEST_TLDS = (".test", ".example", ".invalid", ".localhost")
# Codes in use that ISO 3166-1 leaves user-assigned (Kosovo), which the import maps to as well.
_EXTRA_COUNTRIES = frozenset({"XK"})


def valid_country(code: Any) -> bool:
    if not isinstance(code, str) or len(code) != 2:
        return False
    return code in _EXTRA_COUNTRIES or pycountry.countries.get(alpha_2=code) is not None


@dataclass
class Form:
    """One validation pass: the body, what it became, and what is wrong with it."""

    body: dict[str, Any]
    today: date
    existing_ssn: str | None
    out: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)

    def error(self, name: str, message: str, code: str = "invalid") -> None:
        self.errors.append({"field": name, "message": message, "code": code})


def _roles(f: Form) -> None:
    if f.body["roles"] != ["individual"]:
        f.error("roles", 'an individual application takes roles ["individual"] (it cannot be combined)')
    else:
        f.out["roles"] = ["individual"]


def _title(f: Form) -> None:
    if "title" in f.body:
        f.error("title", "title is invalid for the individual role")


def _name(f: Form) -> None:
    name = f.body["name"]
    for part in ("first", "last"):
        v = name[part]
        if not v.strip() or len(v) > 100:
            f.error(f"name.{part}", f"name.{part} is required (1-100 characters)", "required")
        else:
            f.out[f"{part}_name"] = v.strip()
    middle = name.get("middle")
    if middle is None:
        return
    if len(middle) > 100:
        f.error("name.middle", "name.middle must be a string of at most 100 characters")
    elif middle.strip():
        f.out["middle_name"] = middle.strip()


def _date_of_birth(f: Form) -> None:
    dob = f.body["date_of_birth"]
    born = date.fromisoformat(dob)
    today = f.today
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < MINIMUM_AGE:
        f.error("date_of_birth", f"the individual must be at least {MINIMUM_AGE} years old", "too_young")
    else:
        f.out["date_of_birth"] = dob


def _nationalities(f: Form) -> None:
    nats = f.body["nationalities"]
    if not all(valid_country(n) for n in nats):
        f.error("nationalities", "nationalities must be ISO 3166-1 alpha-2 codes (e.g. GB, US)")
    else:
        f.out["nationalities"] = list(dict.fromkeys(nats))


def _address(f: Form) -> None:
    addr = f.body["address"]
    clean: dict[str, str] = {}
    for k in ("street1", "city"):
        v = addr[k]
        if not v.strip():
            f.error(f"address.{k}", f"address.{k} is required", "required")
        else:
            clean[k] = v.strip()
    if not valid_country(addr.get("country")):
        f.error("address.country", "address.country must be an ISO 3166-1 alpha-2 code")
    else:
        clean["country"] = addr["country"]
    for k in ("street2", "street3", "region", "postal_code"):
        v = addr.get(k)
        if v is None:
            continue
        if len(v) > 200:
            f.error(f"address.{k}", f"address.{k} must be a string")
        elif v.strip():
            clean[k] = v.strip()
    f.out["address"] = clean


def _email_address(f: Form) -> None:
    email = f.body["email_address"]
    if not _EMAIL.match(email):
        f.error("email_address", "email_address is required: a valid email address", "required")
        return
    domain = email.rsplit("@", 1)[1].lower()
    if domain in _TEST_DOMAINS or domain.endswith(_TEST_TLDS) or any(domain.endswith("." + d) for d in _TEST_DOMAINS):
        f.error("email_address", "email_address cannot use example or test domains")
    else:
        f.out["email_address"] = email


def _employment_status(f: Form) -> None:
    emp = f.body.get("employment_status")
    if emp not in EMPLOYMENT:
        f.error("employment_status", f"employment_status is required: one of {', '.join(EMPLOYMENT)}", "required")
    else:
        f.out["employment_status"] = emp


def _choices(name: str, allowed: tuple[str, ...]) -> Callable[[Form], None]:
    def check(f: Form) -> None:
        v = f.body.get(name)  # the contract checks its items and that it has one; an individual must give it
        if v is None:
            f.error(name, f"{name} is required: at least one of {', '.join(allowed)}", "required")
        else:
            f.out[name] = list(dict.fromkeys(v))

    return check


def _ssn(f: Form) -> None:
    """Required for US persons (by nationality or address); one carried from Sumsub stays unless replaced."""
    ssn = f.body.get("ssn")
    us_person = "US" in (f.out.get("nationalities") or []) or (f.out.get("address") or {}).get("country") == "US"
    if ssn is not None:
        f.out["ssn"] = ssn  # XXX-XX-XXXX in ASCII digits: the contract's pattern
    elif us_person and f.existing_ssn:
        f.out["ssn"] = f.existing_ssn
    elif us_person:
        f.error("ssn", "ssn is required for US persons (format XXX-XX-XXXX)", "required")


# In the form's order; the SSN comes last because it depends on nationalities and address.
VALIDATORS: tuple[Callable[[Form], None], ...] = (
    _roles,
    _title,
    _name,
    _date_of_birth,
    _nationalities,
    _address,
    _email_address,
    _employment_status,
    _choices("purpose_of_account", PURPOSES),
    _choices("source_of_wealth", WEALTH),
    _ssn,
)


def validate_individual(
    body: Any, today: date, existing_ssn: str | None
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """`IndividualRequest` for an individual application → (clean fields, field errors)."""
    form = Form(body, today, existing_ssn)
    for check in VALIDATORS:
        check(form)
    return form.out, form.errors
