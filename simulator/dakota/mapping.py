"""Sumsub applicant → Dakota individual: the mapping rules of the guide, as pure functions.

Input is the Sumsub applicant in its public JSON shape (`fixedInfo`, `info`, `email`, `phone`), plus the
document images (type and side) that were copied to Dakota's Sumsub workspace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pycountry

# Sumsub uses a few codes ISO 3166 does not (user-assigned); map them to what Dakota expects.
_ALPHA3_EXTRA = {"XKX": "XK", "XKK": "XK", "UNK": "XK"}
_DOC_TYPES = {
    "PASSPORT": ("passport", "passport"),
    "DRIVERS": ("drivers_license_front", "drivers_license_back"),
}
_DOC_TYPES["RESIDENCE_PERMIT"] = ("residence_permit_front", "residence_permit_back")
# ASCII digits only: Python's \d also matches other scripts' digits, which Dakota's ssn pattern does not allow.
_TIN_SSN = re.compile(r"^([0-9]{3})-?([0-9]{2})-?([0-9]{4})$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass
class MappedDocument:
    document_type: str
    sumsub_type: str
    country: str | None
    id_number: str | None
    valid_until: str | None
    image_id: int | None = None


@dataclass
class MappedIndividual:
    """What the import fills in; `missing` lists required fields Sumsub did not provide."""

    first_name: str
    middle_name: str | None
    last_name: str
    date_of_birth: str | None
    nationalities: list[str]
    address: dict[str, str]
    address_placeholder: bool
    email_address: str | None
    phone_number: str | None
    ssn: str | None
    us_person: bool
    documents: list[MappedDocument] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p).strip()

    def customer_name(self) -> str:
        return f"{self.full_name or 'Unknown'} (from Sumsub)"

    def entity_fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {"first_name": self.first_name, "last_name": self.last_name}
        if self.middle_name:
            out["middle_name"] = self.middle_name
        if self.date_of_birth:
            out["date_of_birth"] = self.date_of_birth
        if self.nationalities:
            out["nationalities"] = list(self.nationalities)
        out["address"] = dict(self.address)
        if self.email_address:
            out["email_address"] = self.email_address
        if self.phone_number:
            out["phone_number"] = self.phone_number
        if self.ssn:
            out["ssn"] = self.ssn
        return out


def alpha2(code: Any) -> str | None:
    """ISO 3166-1 alpha-3 (Sumsub) → alpha-2 (Dakota); None when unknown."""
    if not isinstance(code, str) or not code.strip():
        return None
    upper: str = code.strip().upper()
    if upper in _ALPHA3_EXTRA:
        return _ALPHA3_EXTRA[upper]
    if len(upper) == 2 and pycountry.countries.get(alpha_2=upper) is not None:
        return upper
    country = pycountry.countries.get(alpha_3=upper)
    return str(country.alpha_2) if country is not None else None


def display_name(value: Any) -> str | None:
    """Names as Dakota shows them: document ALL-CAPS names title-cased, others kept as given."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = " ".join(value.split())
    if value.isupper():
        return str(value.title())
    return str(value)


def pick_name(fixed: dict[str, Any], info: dict[str, Any], key: str) -> str | None:
    """fixedInfo first, then the `*En` transliteration from info, then info's own form."""
    for candidate in (fixed.get(key), info.get(f"{key}En"), info.get(key)):
        name = display_name(candidate)
        if name:
            return name
    return None


def region_name(state: str | None, country2: str | None) -> str | None:
    """Dakota wants the full region name; expand subdivision codes such as `CA` for the US."""
    if not state:
        return None
    state = state.strip()
    if country2 and 1 <= len(state) <= 3 and state.isalnum():
        sub = pycountry.subdivisions.get(code=f"{country2}-{state.upper()}")  # type: ignore[no-untyped-call]
        if sub is not None:
            return str(sub.name)
    return state


def map_address(addr: dict[str, Any], placeholder_country: str) -> tuple[dict[str, str], bool]:
    """Sumsub's first address → Dakota's Address; `(placeholder, True)` when Sumsub has none."""
    if not addr:
        return {"street1": "", "city": "", "country": placeholder_country}, True

    def en(key: str) -> str:
        v = addr.get(f"{key}En") or addr.get(key) or ""
        return " ".join(str(v).split())

    street = en("street")
    number = en("buildingNumber")
    street1 = " ".join(p for p in (street, number) if p)
    street2 = ", ".join(p for p in (en("subStreet"), en("flatNumber"), en("buildingName")) if p)
    country2 = alpha2(addr.get("country"))
    out: dict[str, str] = {"street1": street1, "city": en("town"), "country": country2 or placeholder_country}
    if street2:
        out["street2"] = street2
    region = region_name(en("state") or None, country2)
    if region:
        out["region"] = region
    if en("postCode"):
        out["postal_code"] = en("postCode")
    return out, country2 is None


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def valid_email(value: Any) -> str | None:
    """Sumsub does not validate emails; Dakota's field is `format: email`, so an unusable one is left out."""
    return value.strip() if isinstance(value, str) and _EMAIL.match(value.strip()) else None


def ssn_from_tin(tin: Any) -> str | None:
    """A TIN of exactly 9 digits (optionally dashed as ddd-dd-dddd) → `ddd-dd-dddd`."""
    if not isinstance(tin, str):
        return None
    m = _TIN_SSN.match(tin.strip())
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}" if m else None


def iso_date(value: Any) -> str | None:
    """A real calendar date in `YYYY-MM-DD` form (Dakota's `format: date`), else None."""
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        return None
    return value


def map_documents(info: dict[str, Any], images: list[dict[str, Any]]) -> list[MappedDocument]:
    """Identity documents only (never source of wealth): one Dakota document per copied image side."""
    by_type = {d.get("idDocType"): d for d in info.get("idDocs", []) if isinstance(d, dict)}
    out: list[MappedDocument] = []
    seen: set[str] = set()
    sides = images or [{"idDocType": t, "idDocSubType": None, "imageId": None} for t in by_type]
    for img in sides:
        s_type = img.get("idDocType")
        if s_type not in _DOC_TYPES:
            continue
        front, back = _DOC_TYPES[str(s_type)]
        d_type = back if img.get("idDocSubType") == "BACK_SIDE" else front
        if d_type in seen:
            continue
        seen.add(d_type)
        meta = by_type.get(s_type, {})
        out.append(
            MappedDocument(
                document_type=d_type,
                sumsub_type=str(s_type),
                country=alpha2(meta.get("country") or img.get("country")),
                id_number=meta.get("number"),
                valid_until=meta.get("validUntil"),
                image_id=img.get("imageId"),
            )
        )
    return out


def map_applicant(
    applicant: dict[str, Any], images: list[dict[str, Any]], placeholder_country: str
) -> MappedIndividual:
    """The whole mapping: names, dob, nationality, first address, email, phone, SSN, documents."""
    fixed = applicant.get("fixedInfo") or {}
    info = applicant.get("info") or {}
    nationality = alpha2(fixed.get("nationality") or info.get("nationality"))
    addresses = fixed.get("addresses") or info.get("addresses") or []
    first_addr = addresses[0] if addresses and isinstance(addresses[0], dict) else {}
    address, placeholder = map_address(first_addr, placeholder_country)
    address_country = alpha2(first_addr.get("country")) if first_addr else None
    us_person = nationality == "US" or address_country == "US"
    tin = fixed.get("tin") or info.get("tin")
    dob = fixed.get("dob") or info.get("dob")
    return MappedIndividual(
        first_name=pick_name(fixed, info, "firstName") or "",
        middle_name=pick_name(fixed, info, "middleName"),
        last_name=pick_name(fixed, info, "lastName") or "",
        date_of_birth=iso_date(dob),
        nationalities=[nationality] if nationality else [],
        address=address,
        address_placeholder=placeholder,
        email_address=valid_email(applicant.get("email") or fixed.get("email") or info.get("email")),
        phone_number=applicant.get("phone") or fixed.get("phone") or info.get("phone"),
        ssn=ssn_from_tin(tin) if us_person else None,
        us_person=us_person,
        documents=map_documents(info, images),
    )
