"""Unit tests of the Sumsub applicant → Dakota individual mapping (pure functions, no sandbox)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.dakota.mapping import (
    MappedIndividual,
    alpha2,
    display_name,
    map_address,
    map_applicant,
    map_documents,
    pick_name,
    region_name,
    ssn_from_tin,
)

SSN_SHAPE = re.compile(r"^[0-9]{3}-[0-9]{2}-[0-9]{4}$")  # ASCII digits, as Dakota's spec pattern means it


def applicant(
    fixed: dict[str, Any] | None = None,
    info: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {"id": "5f1e2d3c4b5a697887766554", "type": "individual", **top}
    if fixed is not None:
        out["fixedInfo"] = fixed
    out["info"] = info or {}
    return out


def mapped(
    fixed: dict[str, Any] | None = None,
    info: dict[str, Any] | None = None,
    images: list[dict[str, Any]] | None = None,
    placeholder: str = "ZZ",
    **top: Any,
) -> MappedIndividual:
    return map_applicant(applicant(fixed, info, **top), images or [], placeholder)


def image(doc_type: str, side: str | None = None, image_id: int = 1, country: str | None = None) -> dict[str, Any]:
    return {"idDocType": doc_type, "idDocSubType": side, "imageId": image_id, "country": country}


US_ADDRESS = {"street": "Market Street", "buildingNumber": "1455", "town": "San Francisco", "country": "USA"}
GB_ADDRESS = {"street": "Baker Street", "buildingNumber": "221B", "town": "London", "country": "GBR"}


# ---------------------------------------------------------------- countries
@pytest.mark.parametrize(
    ("sumsub", "dakota"),
    [
        ("GBR", "GB"),
        ("USA", "US"),
        ("DEU", "DE"),
        ("CHE", "CH"),
        ("ARG", "AR"),
        ("gbr", "GB"),
        (" usa ", "US"),
        ("XKX", "XK"),
        ("GB", "GB"),
    ],
)
def test_alpha2_converts_sumsub_alpha3_to_dakota_alpha2(sumsub: str, dakota: str) -> None:
    assert alpha2(sumsub) == dakota


@pytest.mark.parametrize("code", ["ZZZ", "ABCD", "123", "", "   ", "ÄÖÜ", None, 5, ["GBR"]])
def test_alpha2_of_unknown_or_non_string_code_is_none(code: Any) -> None:
    assert alpha2(code) is None


@given(st.text(max_size=6))
def test_alpha2_never_raises_and_answers_two_uppercase_letters_or_none(code: str) -> None:
    result = alpha2(code)
    assert result is None or re.fullmatch(r"[A-Z]{2}", result)


def test_nationality_is_mapped_to_alpha2_list() -> None:
    assert mapped({"firstName": "A", "lastName": "B", "nationality": "DEU"}).nationalities == ["DE"]


def test_kosovo_nationality_xkx_maps_to_xk() -> None:
    assert mapped({"nationality": "XKX"}).nationalities == ["XK"]


def test_unknown_nationality_gives_no_nationalities() -> None:
    assert mapped({"nationality": "QQQ"}).nationalities == []


def test_nationality_falls_back_to_info() -> None:
    assert mapped({}, {"nationality": "FRA"}).nationalities == ["FR"]


# ---------------------------------------------------------------- names
def test_names_come_from_fixed_info_first() -> None:
    m = mapped(
        {"firstName": "Olivia", "lastName": "Bennett"},
        {"firstName": "OLIVIA-DOC", "firstNameEn": "OLIVIA-EN", "lastName": "BENNETT-DOC"},
    )
    assert (m.first_name, m.last_name) == ("Olivia", "Bennett")


def test_names_fall_back_to_info_en_transliteration_before_info_original() -> None:
    m = mapped({}, {"firstName": "Зоя", "firstNameEn": "Zoya", "lastName": "Иванова", "lastNameEn": "Ivanova"})
    assert (m.first_name, m.last_name) == ("Zoya", "Ivanova")


def test_names_fall_back_to_info_original_without_en_form() -> None:
    m = mapped({}, {"firstName": "Zoë", "lastName": "Müller"})
    assert (m.first_name, m.last_name) == ("Zoë", "Müller")


def test_blank_fixed_info_name_does_not_hide_info_name() -> None:
    m = mapped({"firstName": "  ", "lastName": ""}, {"firstNameEn": "ANA", "lastName": "GARCIA"})
    assert (m.first_name, m.last_name) == ("Ana", "Garcia")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("OLIVIA", "Olivia"),
        ("MÜLLER-LÜDENSCHEIDT", "Müller-Lüdenscheidt"),
        ("ZOË", "Zoë"),
        ("JEAN PAUL", "Jean Paul"),
        ("  JEAN   PAUL  ", "Jean Paul"),
        ("O'BRIEN", "O'Brien"),
        ("GARCÍA-LÓPEZ", "García-López"),
    ],
)
def test_all_caps_document_names_are_title_cased(raw: str, shown: str) -> None:
    assert display_name(raw) == shown


@pytest.mark.parametrize("raw", ["McDonald", "de la Cruz", "van der BERG", "Olivia", "ZOë"])
def test_mixed_case_names_are_kept_as_given(raw: str) -> None:
    assert display_name(raw) == raw


@pytest.mark.parametrize("raw", [None, "", "   ", 42, ["OLIVIA"]])
def test_missing_or_non_string_name_is_none(raw: Any) -> None:
    assert display_name(raw) is None


def test_pick_name_title_cases_all_caps_info_en_name() -> None:
    assert pick_name({}, {"lastName": "MÜLLER-LÜDENSCHEIDT", "lastNameEn": "MUELLER-LUEDENSCHEIDT"}, "lastName") == (
        "Mueller-Luedenscheidt"
    )


def test_middle_name_is_mapped_and_missing_middle_name_is_none() -> None:
    assert mapped({"firstName": "A", "middleName": "MARIE", "lastName": "B"}).middle_name == "Marie"
    assert mapped({"firstName": "A", "lastName": "B"}).middle_name is None


def test_customer_name_is_first_last_from_sumsub() -> None:
    m = mapped({"firstName": "Olivia", "middleName": "Jane", "lastName": "Bennett"})
    assert m.customer_name() == "Olivia Bennett (from Sumsub)"


def test_customer_name_without_any_name_is_unknown() -> None:
    m = mapped({})
    assert (m.first_name, m.last_name) == ("", "")
    assert m.customer_name() == "Unknown (from Sumsub)"


# ---------------------------------------------------------------- date of birth
def test_dob_is_mapped_to_date_of_birth_fixed_info_first() -> None:
    assert mapped({"dob": "1990-04-12"}, {"dob": "1991-01-01"}).date_of_birth == "1990-04-12"
    assert mapped({}, {"dob": "1991-01-01"}).date_of_birth == "1991-01-01"


@pytest.mark.parametrize("dob", ["12/04/1990", "1990-4-12", "1990", "", "1990-04-12T00:00:00"])
def test_dob_not_in_iso_date_form_is_dropped(dob: str) -> None:
    assert mapped({"dob": dob}).date_of_birth is None


@pytest.mark.parametrize("dob", ["1990-02-30", "1990-13-01", "1990-00-10", "١٩٩٠-٠٤-١٢"])
def test_dob_that_is_not_a_real_calendar_date_is_dropped(dob: str) -> None:
    # Dakota's date_of_birth is `format: date`; an impossible date would break its own schema.
    assert mapped({"dob": dob}).date_of_birth is None


# ---------------------------------------------------------------- address
def test_first_address_only_is_mapped() -> None:
    m = mapped({"addresses": [GB_ADDRESS, US_ADDRESS]})
    assert m.address["country"] == "GB"
    assert m.address["city"] == "London"
    assert m.address_placeholder is False


def test_street1_is_street_then_building_number() -> None:
    addr, placeholder = map_address(GB_ADDRESS, "ZZ")
    assert addr["street1"] == "Baker Street 221B"
    assert placeholder is False


def test_street1_without_building_number_is_street_alone() -> None:
    addr, _ = map_address({"street": "Baker Street", "town": "London", "country": "GBR"}, "ZZ")
    assert addr["street1"] == "Baker Street"


def test_street2_joins_sub_street_flat_number_and_building_name() -> None:
    addr, _ = map_address(
        {**GB_ADDRESS, "subStreet": "Suite 600", "flatNumber": "3B", "buildingName": "Bennett House"}, "ZZ"
    )
    assert addr["street2"] == "Suite 600, 3B, Bennett House"


def test_street2_is_absent_without_sub_street_parts() -> None:
    addr, _ = map_address(GB_ADDRESS, "ZZ")
    assert "street2" not in addr


def test_city_prefers_town_en_over_town() -> None:
    addr, _ = map_address({"street": "Bahnhofstrasse", "town": "Zürich", "townEn": "Zurich", "country": "CHE"}, "ZZ")
    assert addr["city"] == "Zurich"
    addr, _ = map_address({"street": "Strøget", "town": "København", "country": "DNK"}, "ZZ")
    assert addr["city"] == "København"


@pytest.mark.parametrize(
    ("state", "country", "region"),
    [
        ("CA", "USA", "California"),
        ("ca", "USA", "California"),
        ("TX", "USA", "Texas"),
        ("ON", "CAN", "Ontario"),
        ("Lazio", "ITA", "Lazio"),
        ("Madrid", "ESP", "Madrid"),
    ],
)
def test_region_is_the_full_name_expanding_subdivision_codes(state: str, country: str, region: str) -> None:
    addr, _ = map_address({"street": "Main", "town": "X", "state": state, "country": country}, "ZZ")
    assert addr["region"] == region


def test_region_code_unknown_for_the_country_is_kept_as_given() -> None:
    assert region_name("QQ", "US") == "QQ"
    assert region_name("CA", None) == "CA"
    assert region_name(None, "US") is None


def test_postal_code_and_country_are_mapped() -> None:
    addr, _ = map_address({**US_ADDRESS, "postCode": "94103", "state": "CA"}, "ZZ")
    assert addr == {
        "street1": "Market Street 1455",
        "city": "San Francisco",
        "country": "US",
        "region": "California",
        "postal_code": "94103",
    }


def test_no_address_gives_placeholder_country_and_flag() -> None:
    m = mapped({"firstName": "Lukas", "lastName": "Schmidt", "nationality": "DEU"})
    assert m.address == {"street1": "", "city": "", "country": "ZZ"}
    assert m.address_placeholder is True


def test_empty_address_list_or_empty_first_address_gives_placeholder() -> None:
    assert mapped({"addresses": []}).address_placeholder is True
    assert mapped({"addresses": [{}]}).address["country"] == "ZZ"


def test_placeholder_country_is_configurable() -> None:
    m = mapped({}, placeholder="XX")
    assert m.address["country"] == "XX"
    assert m.address_placeholder is True


def test_address_with_unknown_country_uses_placeholder_country() -> None:
    addr, placeholder = map_address({"street": "Somewhere", "town": "Nowhere", "country": "QQQ"}, "ZZ")
    assert addr["country"] == "ZZ"
    assert placeholder is True


def test_address_falls_back_to_info_addresses() -> None:
    m = mapped({}, {"addresses": [GB_ADDRESS]})
    assert m.address["country"] == "GB"
    assert m.address_placeholder is False


def test_entity_fields_always_carry_an_address_with_required_keys() -> None:
    fields = mapped({}).entity_fields()
    assert {"street1", "city", "country"} <= set(fields["address"])


# ---------------------------------------------------------------- email, phone
def test_email_and_phone_come_from_the_applicant() -> None:
    m = mapped({}, email="olivia@mailbox.co.uk", phone="+447700900123")
    assert (m.email_address, m.phone_number) == ("olivia@mailbox.co.uk", "+447700900123")
    fields = m.entity_fields()
    assert fields["email_address"] == "olivia@mailbox.co.uk"
    assert fields["phone_number"] == "+447700900123"


def test_missing_email_and_phone_are_left_out_of_entity_fields() -> None:
    fields = mapped({"firstName": "A", "lastName": "B"}).entity_fields()
    assert "email_address" not in fields
    assert "phone_number" not in fields


# ---------------------------------------------------------------- SSN
@pytest.mark.parametrize("tin", ["123456789", "123-45-6789", " 123456789 "])
def test_us_national_with_nine_digit_tin_gets_dashed_ssn(tin: str) -> None:
    m = mapped({"nationality": "USA", "tin": tin})
    assert m.us_person is True
    assert m.ssn == "123-45-6789"


def test_us_address_makes_a_us_person_with_ssn() -> None:
    m = mapped({"nationality": "GBR", "tin": "123456789", "addresses": [US_ADDRESS]})
    assert m.us_person is True
    assert m.ssn == "123-45-6789"


def test_tin_from_info_is_used_when_fixed_info_has_none() -> None:
    assert mapped({"nationality": "USA"}, {"tin": "987654321"}).ssn == "987-65-4321"


def test_non_us_person_with_nine_digit_tin_gets_no_ssn() -> None:
    m = mapped({"nationality": "GBR", "tin": "123456789", "addresses": [GB_ADDRESS]})
    assert m.us_person is False
    assert m.ssn is None
    assert "ssn" not in m.entity_fields()


@pytest.mark.parametrize(
    "tin",
    ["98-7654321X", "12345678", "1234567890", "12-3456789", "123 45 6789", "abc-de-fghi", "", "١٢٣٤٥٦٧٨٩"],
)
def test_us_person_with_malformed_tin_gets_no_ssn(tin: str) -> None:
    m = mapped({"nationality": "USA", "tin": tin})
    assert m.us_person is True
    assert m.ssn is None


def test_us_person_without_tin_gets_no_ssn() -> None:
    assert mapped({"nationality": "USA"}).ssn is None


@given(st.one_of(st.text(max_size=20), st.none(), st.integers()))
def test_ssn_from_tin_is_ascii_ddd_dd_dddd_or_none(tin: Any) -> None:
    ssn = ssn_from_tin(tin)
    assert ssn is None or SSN_SHAPE.match(ssn)


@given(st.from_regex(r"\A[0-9]{9}\Z"))
def test_ssn_from_tin_keeps_the_nine_digits_in_order(tin: str) -> None:
    ssn = ssn_from_tin(tin)
    assert ssn is not None
    assert ssn.replace("-", "") == tin
    assert ssn_from_tin(ssn) == ssn


# ---------------------------------------------------------------- documents
def doc_types(images: list[dict[str, Any]], info: dict[str, Any] | None = None) -> list[str]:
    return [d.document_type for d in map_documents(info or {}, images)]


def test_passport_maps_to_passport() -> None:
    assert doc_types([image("PASSPORT")]) == ["passport"]


def test_passport_with_two_pages_maps_to_one_passport_document() -> None:
    assert doc_types([image("PASSPORT", image_id=1), image("PASSPORT", image_id=2)]) == ["passport"]


def test_drivers_license_front_and_back_map_to_their_sides() -> None:
    images = [image("DRIVERS", "FRONT_SIDE", 1), image("DRIVERS", "BACK_SIDE", 2)]
    assert doc_types(images) == ["drivers_license_front", "drivers_license_back"]


def test_residence_permit_front_and_back_map_to_their_sides() -> None:
    images = [image("RESIDENCE_PERMIT", "BACK_SIDE", 1), image("RESIDENCE_PERMIT", "FRONT_SIDE", 2)]
    assert doc_types(images) == ["residence_permit_back", "residence_permit_front"]


@pytest.mark.parametrize("doc_type", ["ID_CARD", "SELFIE", "UTILITY_BILL", "BANK_STATEMENT", "OTHER"])
def test_non_dakota_document_types_are_never_mapped(doc_type: str) -> None:
    assert doc_types([image(doc_type, "FRONT_SIDE"), image(doc_type, "BACK_SIDE", 2)]) == []


def test_source_of_wealth_is_never_produced() -> None:
    types = ("PASSPORT", "DRIVERS", "RESIDENCE_PERMIT", "ID_CARD", "SELFIE", "UTILITY_BILL", "BANK_STATEMENT")
    images = [image(t, side, i) for i, (t, side) in enumerate((t, s) for t in types for s in ("FRONT_SIDE", None))]
    produced = doc_types(images)
    assert produced  # the identity documents are there ...
    assert not any("wealth" in t for t in produced)  # ... and nothing about wealth


def test_document_metadata_comes_from_info_id_docs() -> None:
    info = {"idDocs": [{"idDocType": "PASSPORT", "country": "GBR", "number": "533401372", "validUntil": "2029-02-01"}]}
    (doc,) = map_documents(info, [image("PASSPORT", image_id=77)])
    assert (doc.country, doc.id_number, doc.valid_until, doc.image_id) == ("GB", "533401372", "2029-02-01", 77)
    assert doc.sumsub_type == "PASSPORT"


def test_documents_fall_back_to_info_id_docs_when_no_images_were_copied() -> None:
    info = {"idDocs": [{"idDocType": "PASSPORT", "country": "GBR"}, {"idDocType": "ID_CARD", "country": "FRA"}]}
    assert doc_types([], info) == ["passport"]


def test_applicant_documents_are_mapped_through_map_applicant() -> None:
    m = mapped({}, images=[image("SELFIE"), image("DRIVERS", "FRONT_SIDE", 2), image("UTILITY_BILL", None, 3)])
    assert [d.document_type for d in m.documents] == ["drivers_license_front"]


# ---------------------------------------------------------------- robustness
json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12))
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=10,
)
addr_strategy = st.fixed_dictionaries(
    {},
    optional={
        k: st.text(max_size=12)
        for k in ("street", "streetEn", "buildingNumber", "subStreet", "flatNumber", "town", "state", "postCode")
    }
    | {"country": st.sampled_from(["USA", "GBR", "DEU", "QQQ", "XKX", ""])},
)
info_strategy = st.fixed_dictionaries(
    {},
    optional={
        "firstName": st.text(max_size=12),
        "firstNameEn": st.text(max_size=12),
        "lastName": st.text(max_size=12),
        "dob": st.text(max_size=12),
        "nationality": st.sampled_from(["USA", "GBR", "CHE", "QQQ", ""]),
        "tin": st.text(alphabet="0123456789-X ", max_size=12),
        "addresses": st.lists(addr_strategy, max_size=2),
    },
)


@given(info_strategy, info_strategy, st.sampled_from(["ZZ", "XX"]))
def test_map_applicant_of_any_sumsub_shaped_data_gives_a_loadable_individual(
    fixed: dict[str, Any], info: dict[str, Any], placeholder: str
) -> None:
    m = map_applicant(applicant(fixed, info), [], placeholder)
    fields = m.entity_fields()
    assert len(fields["address"]["country"]) == 2
    assert m.address_placeholder == (fields["address"]["country"] == placeholder)
    assert all(re.fullmatch(r"[A-Z]{2}", n) for n in m.nationalities)
    assert m.ssn is None or (m.us_person and SSN_SHAPE.match(m.ssn))
    assert m.customer_name().endswith(" (from Sumsub)")


@given(json_value)
def test_map_applicant_never_raises_on_odd_info_values(value: Any) -> None:
    m = map_applicant(applicant({"firstName": value, "tin": value, "dob": value}, {"lastName": value}), [], "ZZ")
    assert isinstance(m.first_name, str)
