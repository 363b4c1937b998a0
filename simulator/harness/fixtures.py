# ruff: noqa: RUF001, RUF003 - Greek, Cyrillic and Hangul letters are the point of the transliteration tables
"""The donor profile fixtures (`fixtures/profiles/*.json`): a curated set plus Faker-generated ones, from a seed.

`generate(seed)` returns every profile by name; `write(out_dir)` renders them byte for byte (indent 2, UTF-8 as is,
trailing newline) together with the dashboard's CSV template; `check(out_dir)` names the files that differ.

The eleven curated profiles are the ones the test suite and the docs use by name *and* by value (`gb-passport` is
Olivia Bennett, `us-ssn` carries TIN 123456789 ...): their values are written out below and never generated. The
others come from Faker's locale data, each from its own seed derived from (seed, profile name), so adding a profile
never changes another. Faker's seeded output is stable within a Faker release; `FAKER_VERSION` records the one the
committed files were generated with.

Every profile has an `Expected` outcome when Dakota imports its share token, stated by the generator from the values
it chose (not by running the sandbox's mapping): the fixture test holds the sandbox to it.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

DEFAULT_SEED = 20240611
FAKER_VERSION = "40.63.0"
TEMPLATE_CSV = "sumsub-import-template.csv"
TEMPLATE_CSV_TEXT = "token\n"

Profile = dict[str, Any]


@dataclass(frozen=True)
class Expected:
    """What importing the profile's share token into Dakota gives."""

    imported: bool
    name: str | None = None  # the customer / row name, e.g. "Olivia Bennett (from Sumsub)"
    error: str | None = None  # text the failed row's error contains
    review_status: str = "approved"  # sumsub_review_status on the application
    ssn: str | None = None
    placeholder_address: bool = False

    def describe(self) -> str:
        if not self.imported:
            return f"import fails ({self.error})"
        extras = []
        if self.review_status != "approved":
            extras.append(f"sumsub_review_status {self.review_status}")
        if self.ssn:
            extras.append("SSN carried over")
        if self.placeholder_address:
            extras.append("placeholder address, submit fails on the address")
        return "imported" + (f" ({'; '.join(extras)})" if extras else "")


# ---------------------------------------------------------------------------------------------- curated profiles
def _passport_selfie_review() -> Profile:
    return {"reviewAnswer": "GREEN"}


CURATED: dict[str, Profile] = {
    "business": {
        "description": "A company applicant: Dakota's import takes individuals only.",
        "type": "company",
        "level": "basic-kyc-level",
        "email": "compliance@northwind.example",
        "fixedInfo": {"country": "GBR"},
        "info": {"companyName": "Northwind Trading Ltd"},
        "idDocs": [
            {
                "idDocType": "PASSPORT",
                "country": "GBR",
                "firstName": "ARTHUR",
                "lastName": "DENT",
                "number": "912803456",
            }
        ],
        "review": _passport_selfie_review(),
    },
    "gb-passport": {
        "description": "UK national with a passport and a London address: the happy path.",
        "level": "basic-kyc-level",
        "email": "olivia.bennett@mailbox.co.uk",
        "phone": "+447700900123",
        "fixedInfo": {
            "firstName": "Olivia",
            "lastName": "Bennett",
            "dob": "1990-04-12",
            "nationality": "GBR",
            "country": "GBR",
            "addresses": [
                {
                    "street": "Baker Street",
                    "buildingNumber": "221B",
                    "town": "London",
                    "postCode": "NW1 6XE",
                    "country": "GBR",
                }
            ],
        },
        "idDocs": [
            {
                "idDocType": "PASSPORT",
                "country": "GBR",
                "firstName": "OLIVIA",
                "lastName": "BENNETT",
                "dob": "1990-04-12",
                "number": "533401372",
                "issuedDate": "2019-02-01",
                "validUntil": "2029-02-01",
            },
            {"idDocType": "SELFIE", "country": "GBR"},
        ],
        "review": _passport_selfie_review(),
    },
    "id-card-only": {
        "description": "French national verified with a national ID card only: incompatible with id-only (10513).",
        "level": "id-card-level",
        "email": "camille.martin@courriel.fr",
        "fixedInfo": {
            "firstName": "Camille",
            "lastName": "Martin",
            "dob": "1995-03-08",
            "nationality": "FRA",
            "addresses": [
                {
                    "street": "Rue de Rivoli",
                    "buildingNumber": "12",
                    "town": "Paris",
                    "postCode": "75004",
                    "country": "FRA",
                }
            ],
        },
        "idDocs": [
            {
                "idDocType": "ID_CARD",
                "idDocSubType": "FRONT_SIDE",
                "country": "FRA",
                "firstName": "CAMILLE",
                "lastName": "MARTIN",
                "number": "X4RTBPFW4",
            },
            {"idDocType": "ID_CARD", "idDocSubType": "BACK_SIDE", "country": "FRA", "number": "X4RTBPFW4"},
        ],
        "review": _passport_selfie_review(),
    },
    "no-address": {
        "description": "German national verified without any address: placeholder country, submit fails on address.",
        "level": "basic-kyc-level",
        "email": "lukas.schmidt@postfach.de",
        "fixedInfo": {"firstName": "Lukas", "lastName": "Schmidt", "dob": "1988-07-16", "nationality": "DEU"},
        "idDocs": [
            {
                "idDocType": "PASSPORT",
                "country": "DEU",
                "firstName": "LUKAS",
                "lastName": "SCHMIDT",
                "dob": "1988-07-16",
                "number": "C01X00T47",
            },
            {"idDocType": "SELFIE", "country": "DEU"},
        ],
        "review": _passport_selfie_review(),
    },
    "non-ascii": {
        "description": "Names only as printed on the document (all caps, non-ASCII) with transliterations.",
        "level": "basic-kyc-level",
        "email": "zoe.mueller@postfach.ch",
        "fixedInfo": {
            "dob": "1987-02-14",
            "nationality": "CHE",
            "addresses": [
                {
                    "street": "Bahnhofstrasse",
                    "buildingNumber": "7",
                    "town": "Zürich",
                    "townEn": "Zurich",
                    "postCode": "8001",
                    "country": "CHE",
                }
            ],
        },
        "idDocs": [
            {
                "idDocType": "PASSPORT",
                "country": "CHE",
                "firstName": "ZOË",
                "firstNameEn": "ZOE",
                "lastName": "MÜLLER-LÜDENSCHEIDT",
                "lastNameEn": "MUELLER-LUEDENSCHEIDT",
                "dob": "1987-02-14",
                "number": "X0012345",
            }
        ],
        "review": _passport_selfie_review(),
    },
    "not-approved": {
        "description": "Documents uploaded but never approved (review pending): reuse fails with 10507.",
        "level": "basic-kyc-level",
        "email": "noah.williams@mailbox.ca",
        "fixedInfo": {
            "firstName": "Noah",
            "lastName": "Williams",
            "dob": "1991-12-01",
            "nationality": "CAN",
            "addresses": [
                {
                    "street": "Queen Street West",
                    "buildingNumber": "100",
                    "town": "Toronto",
                    "state": "ON",
                    "postCode": "M5H 2N2",
                    "country": "CAN",
                }
            ],
        },
        "idDocs": [
            {
                "idDocType": "PASSPORT",
                "country": "CAN",
                "firstName": "NOAH",
                "lastName": "WILLIAMS",
                "number": "AB123456",
            }
        ],
        "review": None,
    },
    "residence-permit": {
        "description": "Residence permit holder (front and back) from Spain with a region.",
        "level": "basic-kyc-level",
        "email": "ana.garcia@correo.es",
        "fixedInfo": {
            "firstName": "Ana",
            "lastName": "García",
            "dob": "1996-06-06",
            "nationality": "ARG",
            "addresses": [
                {
                    "street": "Calle de Alcalá",
                    "buildingNumber": "45",
                    "flatNumber": "3B",
                    "town": "Madrid",
                    "state": "Madrid",
                    "postCode": "28014",
                    "country": "ESP",
                }
            ],
        },
        "idDocs": [
            {
                "idDocType": "RESIDENCE_PERMIT",
                "idDocSubType": "FRONT_SIDE",
                "country": "ESP",
                "firstName": "ANA",
                "lastName": "GARCIA",
                "number": "Y1234567Z",
            },
            {"idDocType": "RESIDENCE_PERMIT", "idDocSubType": "BACK_SIDE", "country": "ESP", "number": "Y1234567Z"},
        ],
        "review": _passport_selfie_review(),
    },
    "stricter-edd": {
        "description": (
            "Verified on an EDD level (identity, selfie, proof of residence, questionnaire): extras ignored."
        ),
        "level": "edd-level",
        "email": "hannah.jensen@postkasse.dk",
        "fixedInfo": {
            "firstName": "Hannah",
            "lastName": "Jensen",
            "dob": "1979-05-21",
            "nationality": "DNK",
            "addresses": [
                {
                    "street": "Strøget",
                    "buildingNumber": "4",
                    "flatNumber": "2. tv",
                    "town": "København",
                    "townEn": "Copenhagen",
                    "postCode": "1160",
                    "country": "DNK",
                }
            ],
        },
        "questionnaires": [
            {"id": "edd_questionnaire", "sections": {"wealth": {"items": {"source": {"value": "salary"}}}}}
        ],
        "idDocs": [
            {
                "idDocType": "PASSPORT",
                "country": "DNK",
                "firstName": "HANNAH",
                "lastName": "JENSEN",
                "dob": "1979-05-21",
                "number": "206438219",
            },
            {"idDocType": "SELFIE", "country": "DNK"},
            {"idDocType": "UTILITY_BILL", "country": "DNK"},
        ],
        "review": _passport_selfie_review(),
    },
    "us-no-ssn": {
        "description": "US national whose TIN is not a 9-digit SSN: no SSN carried, submit needs one.",
        "level": "basic-kyc-level",
        "email": "maria.lopez@postbox.us",
        "fixedInfo": {
            "firstName": "Maria",
            "lastName": "Lopez",
            "dob": "1992-01-30",
            "nationality": "USA",
            "country": "USA",
            "tin": "98-7654321X",
            "addresses": [
                {
                    "street": "Congress Avenue",
                    "buildingNumber": "301",
                    "town": "Austin",
                    "state": "TX",
                    "postCode": "78701",
                    "country": "USA",
                }
            ],
        },
        "idDocs": [
            {
                "idDocType": "PASSPORT",
                "country": "USA",
                "firstName": "MARIA",
                "lastName": "LOPEZ",
                "dob": "1992-01-30",
                "number": "X12345678",
            },
            {"idDocType": "SELFIE", "country": "USA"},
        ],
        "review": _passport_selfie_review(),
    },
    "us-ssn": {
        "description": "US person with a driver's license and a 9-digit TIN: SSN carried over.",
        "level": "basic-kyc-level",
        "email": "james.carter@postbox.us",
        "phone": "+14155550142",
        "fixedInfo": {
            "firstName": "James",
            "lastName": "Carter",
            "dob": "1985-09-23",
            "nationality": "USA",
            "country": "USA",
            "tin": "123456789",
            "addresses": [
                {
                    "street": "Market Street",
                    "buildingNumber": "1455",
                    "subStreet": "Suite 600",
                    "town": "San Francisco",
                    "state": "CA",
                    "postCode": "94103",
                    "country": "USA",
                }
            ],
        },
        "idDocs": [
            {
                "idDocType": "DRIVERS",
                "idDocSubType": "FRONT_SIDE",
                "country": "USA",
                "firstName": "JAMES",
                "lastName": "CARTER",
                "dob": "1985-09-23",
                "number": "D1234567",
                "validUntil": "2030-09-23",
            },
            {"idDocType": "DRIVERS", "idDocSubType": "BACK_SIDE", "country": "USA", "number": "D1234567"},
            {"idDocType": "SELFIE", "country": "USA"},
        ],
        "review": _passport_selfie_review(),
    },
    "weaker-level": {
        "description": "Verified on a level with no identity step: imported with documents requested.",
        "level": "basic-profile-level",
        "email": "sofia.rossi@posta.it",
        "fixedInfo": {
            "firstName": "Sofia",
            "lastName": "Rossi",
            "dob": "1993-11-02",
            "nationality": "ITA",
            "addresses": [
                {
                    "street": "Via del Corso",
                    "buildingNumber": "18",
                    "town": "Roma",
                    "state": "Lazio",
                    "postCode": "00186",
                    "country": "ITA",
                }
            ],
        },
        "questionnaires": [
            {"id": "profile_questionnaire", "sections": {"occupation": {"items": {"job": {"value": "architect"}}}}}
        ],
        "idDocs": [],
        "review": _passport_selfie_review(),
    },
}

_E_10513 = "10513"
_E_10507 = "10507"
_E_COMPANY = "individual applicants only"

CURATED_EXPECTED: dict[str, Expected] = {
    "business": Expected(False, name="Northwind Trading Ltd (from Sumsub)", error=_E_COMPANY),
    "gb-passport": Expected(True, name="Olivia Bennett (from Sumsub)"),
    "id-card-only": Expected(False, error=_E_10513),
    "no-address": Expected(True, name="Lukas Schmidt (from Sumsub)", placeholder_address=True),
    "non-ascii": Expected(True, name="Zoe Mueller-Luedenscheidt (from Sumsub)"),
    "not-approved": Expected(False, error=_E_10507),
    "residence-permit": Expected(True, name="Ana García (from Sumsub)"),
    "stricter-edd": Expected(True, name="Hannah Jensen (from Sumsub)"),
    "us-no-ssn": Expected(True, name="Maria Lopez (from Sumsub)"),
    "us-ssn": Expected(True, name="James Carter (from Sumsub)", ssn="123-45-6789"),
    "weaker-level": Expected(True, name="Sofia Rossi (from Sumsub)", review_status="documents_requested"),
}


# ---------------------------------------------------------------------------------------------- transliteration
_SPECIAL_LATIN = {"ł": "l", "Ł": "L", "ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "đ": "d", "Đ": "D"}


def ascii_fold(text: str) -> str:
    """Latin text without diacritics (ł → l, ß → ss, ã → a), as machine-readable zones print it."""
    text = "".join(_SPECIAL_LATIN.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_GREEK_DIGRAPHS = {"ου": "ou", "αυ": "av", "ευ": "ev", "γγ": "ng", "γκ": "gk", "μπ": "mp", "ντ": "nt"}
_GREEK = dict(
    zip(
        "αβγδεζηθικλμνξοπρσςτυφχψω",
        "a v g d e z i th i k l m n x o p r s s t y f ch ps o".split(),  # noqa: SIM905
        strict=True,
    )
)


def greek_to_latin(text: str) -> str:
    """ELOT 743 (the Greek passport standard), simplified: accents dropped, common digraphs kept."""
    plain = "".join(
        ch for ch in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(ch)
    )  # ά → α, ϊ → ι
    out, i = [], 0
    while i < len(plain):
        pair = plain[i : i + 2]
        if pair in _GREEK_DIGRAPHS:
            out.append(_GREEK_DIGRAPHS[pair])
            i += 2
            continue
        out.append(_GREEK.get(plain[i], plain[i]))
        i += 1
    return "".join(out)


_UKR = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh", "з": "z",
    "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "'": "", "’": "", "ʼ": "",
}  # fmt: skip
_UKR_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}


def greek_caps(text: str) -> str:
    """Greek as printed on a passport: capitals without accents."""
    return "".join(ch for ch in unicodedata.normalize("NFD", text.upper()) if not unicodedata.combining(ch))


def ukrainian_to_latin(text: str) -> str:
    """Ukraine's official passport transliteration (Cabinet of Ministers resolution 55, 2010)."""
    out = []
    for word in text.lower().split(" "):
        letters = []
        for i, ch in enumerate(word):
            if i == 0 and ch in _UKR_INITIAL:
                letters.append(_UKR_INITIAL[ch])
            else:
                letters.append(_UKR.get(ch, ch))
        out.append("".join(letters))
    return " ".join(out)


_KO_INITIAL = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
_KO_VOWEL = "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split()  # noqa: SIM905
_KO_FINAL = ["", *"k k k n n n t l k m l l l p l m p p t t ng t t k t p t".split()]  # noqa: SIM905
_KO_SURNAMES = {
    "김": "kim", "이": "lee", "박": "park", "최": "choi", "정": "jung", "강": "kang", "조": "cho", "윤": "yoon",
    "장": "jang", "임": "lim", "한": "han", "오": "oh", "서": "seo", "신": "shin", "권": "kwon", "황": "hwang",
    "안": "ahn", "송": "song", "류": "ryu", "홍": "hong", "전": "jeon", "고": "ko", "문": "moon", "손": "son",
}  # fmt: skip


def hangul_to_latin(text: str, *, surname: bool = False) -> str:
    """Revised Romanization syllable by syllable; surnames by the spelling passports customarily use."""
    if surname and text in _KO_SURNAMES:
        return _KO_SURNAMES[text]
    out = []
    for ch in text:
        code = ord(ch) - 0xAC00
        if not 0 <= code < 11172:
            out.append(ch)
            continue
        out.append(_KO_INITIAL[code // 588] + _KO_VOWEL[(code % 588) // 28] + _KO_FINAL[code % 28])
    return "".join(out)


# Arabic names have no algorithmic romanization (short vowels are not written): pairs as passports print them.
_AR_FIRST = [
    ("محمد", "Mohammed"), ("أحمد", "Ahmed"), ("فاطمة", "Fatima"), ("عمر", "Omar"), ("ليلى", "Laila"),
    ("يوسف", "Yousef"), ("مريم", "Mariam"), ("خالد", "Khaled"), ("نور", "Nour"), ("سارة", "Sara"),
    ("علي", "Ali"), ("هدى", "Huda"), ("سلمى", "Salma"), ("حمدان", "Hamdan"),
]  # fmt: skip
_AR_LAST = [
    ("المنصوري", "Al Mansoori"), ("الشامسي", "Al Shamsi"), ("النعيمي", "Al Nuaimi"), ("الكعبي", "Al Kaabi"),
    ("حداد", "Haddad"), ("خوري", "Khoury"), ("الزعبي", "Al Zoubi"), ("المهيري", "Al Muhairi"),
]  # fmt: skip
_AE_PLACES = [
    ("شارع الشيخ زايد", "Sheikh Zayed Road", "دبي", "Dubai", "Dubai"),
    ("شارع الوصل", "Al Wasl Road", "دبي", "Dubai", "Dubai"),
    ("شارع الكورنيش", "Corniche Road", "أبوظبي", "Abu Dhabi", "Abu Dhabi"),
    ("شارع المنتزه", "Al Muntazah Street", "الشارقة", "Sharjah", "Sharjah"),
]
_JP_PLACES = [
    ("道玄坂", "Dogenzaka", "渋谷区", "Shibuya-ku", "東京都", "Tokyo", "150-0043"),
    ("神南", "Jinnan", "渋谷区", "Shibuya-ku", "東京都", "Tokyo", "150-0041"),
    ("梅田", "Umeda", "大阪市北区", "Osaka Kita-ku", "大阪府", "Osaka", "530-0001"),
    ("烏丸通", "Karasuma-dori", "京都市中京区", "Kyoto Nakagyo-ku", "京都府", "Kyoto", "604-8166"),
    ("みなとみらい", "Minatomirai", "横浜市西区", "Yokohama Nishi-ku", "神奈川県", "Kanagawa", "220-0012"),
    ("大通西", "Odori-nishi", "札幌市中央区", "Sapporo Chuo-ku", "北海道", "Hokkaido", "060-0042"),
]
_KR_PLACES = [
    ("테헤란로", "서울특별시", "Seoul"),
    ("세종대로", "서울특별시", "Seoul"),
    ("해운대로", "부산광역시", "Busan"),
    ("동성로", "대구광역시", "Daegu"),
]
_GR_REGIONS = [("Αθήνα", "Attica"), ("Θεσσαλονίκη", "Central Macedonia"), ("Πάτρα", "Western Greece")]


# ---------------------------------------------------------------------------------------------- helpers
class _Gen:
    """One profile's generator state: a Faker seeded for this profile, and small value helpers on top of it."""

    def __init__(self, locale: str, seed: int) -> None:
        from faker import Faker

        self.fake = Faker(locale)
        self.fake.seed_instance(seed)
        self.rnd = self.fake.random

    def pick(self, items: list[Any]) -> Any:
        return items[self.rnd.randrange(len(items))]

    def dob(self) -> str:
        # Fixed bounds (never "today"): the same seed gives the same adult on any day.
        return str(self.fake.date_between_dates(date(1952, 1, 1), date(2002, 12, 31)).isoformat())

    def valid_until(self) -> tuple[str, str]:
        until = self.fake.date_between_dates(date(2031, 1, 1), date(2035, 12, 31))
        issued = until.replace(year=until.year - 10) - timedelta(days=1)
        return issued.isoformat(), until.isoformat()

    def digits(self, n: int) -> str:
        return str(self.rnd.randint(1, 9)) + "".join(str(self.rnd.randint(0, 9)) for _ in range(n - 1))

    def doc_number(self, letters: int, digits: int) -> str:
        return "".join(self.rnd.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(letters)) + self.digits(digits)

    def phone(self, country_code: str, national_digits: int) -> str:
        return f"+{country_code}{self.digits(national_digits)}"

    def email(self, first: str, last: str) -> str:
        def part(s: str) -> str:
            return "".join(ch for ch in ascii_fold(s).lower().replace(" ", "") if ch.isalnum() or ch in "-")

        return f"{part(first)}.{part(last)}@{self.fake.free_email_domain()}"


def _passport(
    g: _Gen,
    country: str,
    first: str,
    last: str,
    dob: str | None,
    *,
    first_en: str | None = None,
    last_en: str | None = None,
) -> dict[str, Any]:
    """A passport's metadata as Sumsub extracts it (names as printed; `*En` where the script is not Latin)."""
    issued, until = g.valid_until()
    doc: dict[str, Any] = {"idDocType": "PASSPORT", "country": country, "firstName": first}
    if first_en:
        doc["firstNameEn"] = first_en
    doc["lastName"] = last
    if last_en:
        doc["lastNameEn"] = last_en
    if dob:
        doc["dob"] = dob
    doc.update({"number": g.doc_number(2, 7), "issuedDate": issued, "validUntil": until})
    return doc


def _two_sided(g: _Gen, doc_type: str, country: str, first: str, last: str, dob: str) -> list[dict[str, Any]]:
    number = g.doc_number(1, 8)
    _, until = g.valid_until()
    return [
        {
            "idDocType": doc_type,
            "idDocSubType": "FRONT_SIDE",
            "country": country,
            "firstName": first,
            "lastName": last,
            "dob": dob,
            "number": number,
            "validUntil": until,
        },
        {"idDocType": doc_type, "idDocSubType": "BACK_SIDE", "country": country, "number": number},
    ]


def _selfie(country: str) -> dict[str, Any]:
    return {"idDocType": "SELFIE", "country": country}


def _green() -> dict[str, Any]:
    return {"reviewAnswer": "GREEN"}


def _city(g: _Gen) -> str:
    """`fake.city()`, except where Faker builds its city list from a set (it_IT): hash order would leak in."""
    for provider in g.fake.providers:
        cities = getattr(provider, "cities", None)
        if type(provider).__module__.startswith("faker.providers.address.it_IT") and cities:
            return str(g.pick(sorted(cities)))
    return str(g.fake.city())


def _address(g: _Gen, country: str, *, state: str | None = None, **extra: str) -> dict[str, Any]:
    f = g.fake
    addr: dict[str, Any] = {"street": f.street_name(), "buildingNumber": str(g.rnd.randint(1, 240))}
    addr.update(extra)
    addr["town"] = _city(g)
    if state:
        addr["state"] = state
    addr["postCode"] = f.postcode()
    addr["country"] = country
    return addr


def _name(first: str, last: str) -> str:
    return f"{first} {last} (from Sumsub)"


# ---------------------------------------------------------------------------------------------- generated profiles
Built = tuple[Profile, Expected]


def _jp_passport_kanji(g: _Gen) -> Built:
    kanji_first, _, romaji_first = g.fake.first_name_female_pair()
    kanji_last, _, romaji_last = g.fake.last_name_pair()
    street, street_en, town, town_en, pref, pref_en, post = g.pick(_JP_PLACES)
    dob = g.dob()
    chome = g.rnd.randint(1, 5)
    profile = {
        "description": "Japanese national: names only on the passport, in kanji with romaji transliterations.",
        "level": "basic-kyc-level",
        "email": g.email(romaji_first, romaji_last),
        "phone": g.phone("81", 10),
        "fixedInfo": {
            "dob": dob,
            "nationality": "JPN",
            "addresses": [
                {
                    "street": f"{street}{chome}丁目",
                    "streetEn": f"{street_en} {chome}-chome",
                    "buildingNumber": f"{g.rnd.randint(1, 30)}-{g.rnd.randint(1, 20)}",
                    "town": town,
                    "townEn": town_en,
                    "state": pref,
                    "stateEn": pref_en,
                    "postCode": post,
                    "country": "JPN",
                }
            ],
        },
        "idDocs": [
            _passport(
                g,
                "JPN",
                f"{kanji_first}",
                f"{kanji_last}",
                dob,
                first_en=romaji_first.upper(),
                last_en=romaji_last.upper(),
            ),
            _selfie("JPN"),
        ],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(romaji_first, romaji_last))


def _gr_passport_greek(g: _Gen) -> Built:
    first = g.fake.first_name_female()
    last = g.fake.last_name_female()
    first_en, last_en = greek_to_latin(first).title(), greek_to_latin(last).title()
    town, region = g.pick(_GR_REGIONS)
    street = g.fake.street_name()
    dob = g.dob()
    profile = {
        "description": "Greek national: names in Greek capitals on the passport with ELOT 743 transliterations.",
        "level": "basic-kyc-level",
        "email": g.email(first_en, last_en),
        "phone": g.phone("30", 10),
        "fixedInfo": {
            "dob": dob,
            "nationality": "GRC",
            "addresses": [
                {
                    "street": street,
                    "streetEn": greek_to_latin(street).title(),
                    "buildingNumber": str(g.rnd.randint(1, 180)),
                    "town": town,
                    "townEn": greek_to_latin(town).title(),
                    "state": region,
                    "postCode": f"{g.rnd.randint(100, 859)} {g.rnd.randint(10, 99)}",
                    "country": "GRC",
                }
            ],
        },
        "idDocs": [
            _passport(
                g,
                "GRC",
                greek_caps(first),
                greek_caps(last),
                dob,
                first_en=first_en.upper(),
                last_en=last_en.upper(),
            ),
            _selfie("GRC"),
        ],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first_en, last_en))


def _ae_passport_arabic(g: _Gen) -> Built:
    ar_first, en_first = g.pick(_AR_FIRST)
    ar_last, en_last = g.pick(_AR_LAST)
    street, street_en, town, town_en, emirate = g.pick(_AE_PLACES)
    dob = g.dob()
    profile = {
        "description": "Emirati national: Latin names in fixedInfo win over the passport's Arabic names.",
        "level": "basic-kyc-level",
        "email": g.email(en_first, en_last),
        "phone": g.phone("971", 9),
        "fixedInfo": {
            "firstName": en_first,
            "lastName": en_last,
            "dob": dob,
            "nationality": "ARE",
            "addresses": [
                {
                    "street": street,
                    "streetEn": street_en,
                    "buildingName": f"Tower {g.rnd.randint(1, 9)}",
                    "flatNumber": str(g.rnd.randint(101, 3909)),
                    "town": town,
                    "townEn": town_en,
                    "state": emirate,
                    "country": "ARE",
                }
            ],
        },
        "idDocs": [
            _passport(g, "ARE", ar_first, ar_last, dob, first_en=en_first.upper(), last_en=en_last.upper()),
            _selfie("ARE"),
        ],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(en_first, en_last))


def _kr_passport_hangul(g: _Gen) -> Built:
    first = g.fake.first_name()
    last = g.fake.last_name()
    first_en = hangul_to_latin(first).title()
    last_en = hangul_to_latin(last, surname=True).title()
    street, city, city_en = g.pick(_KR_PLACES)
    dob = g.dob()
    profile = {
        "description": "South Korean national: Hangul names on the passport with romanized forms.",
        "level": "basic-kyc-level",
        "email": g.email(first_en, last_en),
        "phone": g.phone("82", 10),
        "fixedInfo": {
            "dob": dob,
            "nationality": "KOR",
            "addresses": [
                {
                    "street": street,
                    "streetEn": hangul_to_latin(street.removesuffix("로")).title() + "-ro",
                    "buildingNumber": str(g.rnd.randint(1, 520)),
                    "town": city,
                    "townEn": city_en,
                    "postCode": g.fake.postcode(),
                    "country": "KOR",
                }
            ],
        },
        "idDocs": [
            _passport(g, "KOR", first, last, dob, first_en=first_en.upper(), last_en=last_en.upper()),
            _selfie("KOR"),
        ],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first_en, last_en))


def _ua_passport_cyrillic(g: _Gen) -> Built:
    first = g.fake.first_name_male()
    middle = g.fake.middle_name_male()
    last = g.fake.last_name_male()
    first_en, middle_en, last_en = (ukrainian_to_latin(x).title() for x in (first, middle, last))
    dob = g.dob()
    profile = {
        "description": "Ukrainian national with a patronymic: Latin names in fixedInfo, Cyrillic on the passport.",
        "level": "basic-kyc-level",
        "email": g.email(first_en, last_en),
        "phone": g.phone("380", 9),
        "fixedInfo": {
            "firstName": first_en,
            "middleName": middle_en,
            "lastName": last_en,
            "dob": dob,
            "nationality": "UKR",
            "addresses": [
                {
                    "street": g.fake.street_name(),
                    "buildingNumber": str(g.rnd.randint(1, 120)),
                    "flatNumber": str(g.rnd.randint(1, 200)),
                    "town": "Київ",
                    "townEn": "Kyiv",
                    "postCode": f"0{g.rnd.randint(1000, 6999)}",
                    "country": "UKR",
                }
            ],
        },
        "idDocs": [
            _passport(
                g,
                "UKR",
                first.upper(),
                last.upper(),
                dob,
                first_en=first_en.upper(),
                last_en=last_en.upper(),
            ),
            _selfie("UKR"),
        ],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first_en, last_en))


def _br_long_names(g: _Gen) -> Built:
    f = g.fake
    givens = [f.first_name_female() for _ in range(3)]
    first = " ".join(dict.fromkeys(" ".join(givens).split()))
    last = " ".join([f.last_name(), "da", f.last_name(), f.last_name(), f.last_name()])
    dob = g.dob()
    state = g.pick(["SP", "RJ", "MG", "BA", "PR", "RS"])
    profile = {
        "description": "Brazilian with several given names and surnames (a long name), a CNH driver's license.",
        "level": "basic-kyc-level",
        "email": g.email(first.split()[0], last.split()[-1]),
        "phone": g.phone("55", 11),
        "fixedInfo": {
            "firstName": first,
            "lastName": last,
            "dob": dob,
            "nationality": "BRA",
            "addresses": [_address(g, "BRA", state=state, subStreet=f"Apto {g.rnd.randint(11, 1804)}")],
        },
        "idDocs": [*_two_sided(g, "DRIVERS", "BRA", ascii_fold(first).upper(), ascii_fold(last).upper(), dob)],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first, last))


def _in_passport(g: _Gen) -> Built:
    f = g.fake
    first, last = f.first_name_male(), f.last_name()
    dob = g.dob()
    profile = {
        "description": "Indian national with a passport and a state in the address.",
        "level": "basic-kyc-level",
        "email": g.email(first, last),
        "phone": g.phone("91", 10),
        "fixedInfo": {
            "firstName": first,
            "lastName": last,
            "dob": dob,
            "nationality": "IND",
            "addresses": [_address(g, "IND", state=f.administrative_unit())],
        },
        "idDocs": [_passport(g, "IND", first.upper(), last.upper(), dob), _selfie("IND")],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first, last))


def _pl_id_card_basic(g: _Gen) -> Built:
    f = g.fake
    first, last = f.first_name_male(), f.last_name_male()
    dob = g.dob()
    profile = {
        "description": "Polish national verified on basic-kyc-level with an ID card only: incompatible (10513).",
        "level": "basic-kyc-level",
        "email": g.email(first, last),
        "phone": g.phone("48", 9),
        "fixedInfo": {
            "firstName": first,
            "lastName": last,
            "dob": dob,
            "nationality": "POL",
            "addresses": [_address(g, "POL", flatNumber=str(g.rnd.randint(1, 60)))],
        },
        "idDocs": [*_two_sided(g, "ID_CARD", "POL", first.upper(), last.upper(), dob), _selfie("POL")],
        "review": _green(),
    }
    return profile, Expected(False, error=_E_10513)


def _mx_drivers(g: _Gen) -> Built:
    f = g.fake
    first = f.first_name_female()
    last = f"{f.last_name()} {f.last_name()}"
    dob = g.dob()
    profile = {
        "description": "Mexican national with two surnames and a driver's license (front and back).",
        "level": "basic-kyc-level",
        "email": g.email(first, last.split(maxsplit=1)[0]),
        "phone": g.phone("52", 10),
        "fixedInfo": {
            "firstName": first,
            "lastName": last,
            "dob": dob,
            "nationality": "MEX",
            "addresses": [_address(g, "MEX", state=f.state())],
        },
        "idDocs": [
            *_two_sided(g, "DRIVERS", "MEX", ascii_fold(first).upper(), ascii_fold(last).upper(), dob),
            _selfie("MEX"),
        ],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first, last))


def _us_state(g: _Gen) -> str:
    return str(g.fake.state_abbr(include_territories=False, include_freely_associated_states=False))


def _us_ssn_dashed(g: _Gen) -> Built:
    f = g.fake
    first, last = f.first_name(), f.last_name()
    ssn = f"{g.rnd.randint(100, 665)}-{g.rnd.randint(10, 99)}-{g.rnd.randint(1000, 9999)}"
    dob = g.dob()
    profile = {
        "description": "US national whose TIN is an SSN written ddd-dd-dddd: SSN carried over as is.",
        "level": "basic-kyc-level",
        "email": g.email(first, last),
        "phone": g.phone("1", 10),
        "fixedInfo": {
            "firstName": first,
            "lastName": last,
            "dob": dob,
            "nationality": "USA",
            "country": "USA",
            "tin": ssn,
            "addresses": [_address(g, "USA", state=_us_state(g))],
        },
        "idDocs": [*_two_sided(g, "DRIVERS", "USA", first.upper(), last.upper(), dob), _selfie("USA")],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first, last), ssn=ssn)


def _us_resident_ssn(g: _Gen) -> Built:
    f = g.fake
    first, last = f.first_name(), f.last_name()
    tin = g.digits(9)
    dob = g.dob()
    us = _Gen("en_US", g.rnd.randint(0, 2**31))
    profile = {
        "description": "British national living in the US (a US person by address) with a 9-digit TIN: SSN.",
        "level": "basic-kyc-level",
        "email": g.email(first, last),
        "phone": g.phone("1", 10),
        "fixedInfo": {
            "firstName": first,
            "lastName": last,
            "dob": dob,
            "nationality": "GBR",
            "tin": tin,
            "addresses": [_address(us, "USA", state=_us_state(us))],
        },
        "idDocs": [_passport(g, "GBR", first.upper(), last.upper(), dob), _selfie("GBR")],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first, last), ssn=f"{tin[:3]}-{tin[3:5]}-{tin[5:]}")


def _us_no_tin(g: _Gen) -> Built:
    f = g.fake
    first, last = f.first_name(), f.last_name()
    dob = g.dob()
    profile = {
        "description": "US national with no TIN at all: no SSN carried, submit needs one.",
        "level": "basic-kyc-level",
        "email": g.email(first, last),
        "fixedInfo": {
            "firstName": first,
            "lastName": last,
            "dob": dob,
            "nationality": "USA",
            "addresses": [_address(g, "USA", state=_us_state(g))],
        },
        "idDocs": [_passport(g, "USA", first.upper(), last.upper(), dob), _selfie("USA")],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first, last))


def _nl_no_address(g: _Gen) -> Built:
    f = g.fake
    first, last = f.first_name(), f.last_name()
    dob = g.dob()
    profile = {
        "description": "Dutch national verified without an address: placeholder country, submit fails on address.",
        "level": "basic-kyc-level",
        "email": g.email(first, last),
        "phone": g.phone("31", 9),
        "fixedInfo": {"firstName": first, "lastName": last, "dob": dob, "nationality": "NLD"},
        "idDocs": [_passport(g, "NLD", ascii_fold(first).upper(), ascii_fold(last).upper(), dob), _selfie("NLD")],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first, last), placeholder_address=True)


def _vn_residence_permit(g: _Gen) -> Built:
    f = g.fake
    first = f"{f.middle_name()} {f.first_name_female()}"  # given names after the family name, as Sumsub splits them
    last = f.last_name()
    dob = g.dob()
    de = _Gen("de_DE", g.rnd.randint(0, 2**31))
    profile = {
        "description": "Vietnamese national living in Germany on a residence permit (front and back).",
        "level": "basic-kyc-level",
        "email": g.email(first.rsplit(maxsplit=1)[-1], last),
        "phone": g.phone("49", 11),
        "fixedInfo": {
            "firstName": first,
            "lastName": last,
            "dob": dob,
            "nationality": "VNM",
            "addresses": [_address(de, "DEU")],
        },
        "idDocs": [
            *_two_sided(g, "RESIDENCE_PERMIT", "DEU", ascii_fold(first).upper(), ascii_fold(last).upper(), dob),
            _selfie("DEU"),
        ],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first, last))


def _ca_weaker_level(g: _Gen) -> Built:
    f = g.fake
    first, last = f.first_name(), f.last_name()
    profile = {
        "description": "Canadian verified on a profile-only level (no identity step): imported, documents requested.",
        "level": "basic-profile-level",
        "email": g.email(first, last),
        "phone": g.phone("1", 10),
        "fixedInfo": {
            "firstName": first,
            "lastName": last,
            "dob": g.dob(),
            "nationality": "CAN",
            "addresses": [_address(g, "CAN", state=f.province_abbr())],
        },
        "questionnaires": [
            {
                "id": "profile_questionnaire",
                "sections": {"occupation": {"items": {"job": {"value": f.job().lower()}}}},
            }
        ],
        "idDocs": [],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first, last), review_status="documents_requested")


def _ie_stricter_edd(g: _Gen) -> Built:
    f = g.fake
    first, last = f.first_name(), f.last_name()
    dob = g.dob()
    profile = {
        "description": "Irish national verified on the EDD level (bank statement, questionnaire): extras ignored.",
        "level": "edd-level",
        "email": g.email(first, last),
        "phone": g.phone("353", 9),
        "fixedInfo": {
            "firstName": first,
            "lastName": last,
            "dob": dob,
            "nationality": "IRL",
            "addresses": [_address(g, "IRL")],
        },
        "questionnaires": [
            {
                "id": "edd_questionnaire",
                "sections": {"wealth": {"items": {"source": {"value": g.pick(["salary", "inheritance", "business"])}}}},
            }
        ],
        "idDocs": [
            _passport(g, "IRL", ascii_fold(first).upper(), ascii_fold(last).upper(), dob),
            _selfie("IRL"),
            {"idDocType": "BANK_STATEMENT", "country": "IRL"},
        ],
        "review": _green(),
    }
    return profile, Expected(True, name=_name(first, last))


def _de_business(g: _Gen) -> Built:
    f = g.fake
    company = f.company()
    first, last = f.first_name(), f.last_name()
    profile = {
        "description": "A German company applicant: Dakota's import takes individuals only.",
        "type": "company",
        "level": "basic-kyc-level",
        "email": g.email("compliance", company.split()[0]),
        "fixedInfo": {"country": "DEU"},
        "info": {"companyName": company},
        "idDocs": [_passport(g, "DEU", ascii_fold(first).upper(), ascii_fold(last).upper(), g.dob())],
        "review": _green(),
    }
    return profile, Expected(False, name=f"{company} (from Sumsub)", error=_E_COMPANY)


def _it_rejected(g: _Gen) -> Built:
    f = g.fake
    first, last = f.first_name(), f.last_name()
    dob = g.dob()
    profile = {
        "description": "Italian national whose review ended RED (final reject): reuse fails with 10507.",
        "level": "basic-kyc-level",
        "email": g.email(first, last),
        "fixedInfo": {
            "firstName": first,
            "lastName": last,
            "dob": dob,
            "nationality": "ITA",
            "addresses": [_address(g, "ITA", state=f.administrative_unit())],
        },
        "idDocs": [_passport(g, "ITA", first.upper(), last.upper(), dob), _selfie("ITA")],
        "review": {
            "reviewAnswer": "RED",
            "rejectLabels": [g.pick(["FORGERY", "DOCUMENT_TEMPLATE", "SELFIE_MISMATCH"])],
            "reviewRejectType": "FINAL",
        },
    }
    return profile, Expected(False, error=_E_10507)


def _se_minimal(g: _Gen) -> Built:
    f = g.fake
    first, last = f.first_name(), f.last_name()
    profile = {
        "description": "Swedish passport only: no email, phone, date of birth or address; Step 3 must fill them.",
        "level": "basic-kyc-level",
        "fixedInfo": {},
        "idDocs": [_passport(g, "SWE", ascii_fold(first).upper(), ascii_fold(last).upper(), None)],
        "review": _green(),
    }
    # Names only from the passport, printed in capitals: Dakota title-cases them.
    doc_first, doc_last = ascii_fold(first).upper().title(), ascii_fold(last).upper().title()
    return profile, Expected(True, name=_name(doc_first, doc_last), placeholder_address=True)


# name → (Faker locale, builder). Names are stable: they are the file names and what tests refer to.
GENERATED: dict[str, tuple[str, Callable[[_Gen], Built]]] = {
    "jp-passport-kanji": ("ja_JP", _jp_passport_kanji),
    "gr-passport-greek": ("el_GR", _gr_passport_greek),
    "ae-passport-arabic": ("ar_AA", _ae_passport_arabic),
    "kr-passport-hangul": ("ko_KR", _kr_passport_hangul),
    "ua-passport-cyrillic": ("uk_UA", _ua_passport_cyrillic),
    "br-long-names": ("pt_BR", _br_long_names),
    "in-passport": ("en_IN", _in_passport),
    "pl-id-card-basic": ("pl_PL", _pl_id_card_basic),
    "mx-drivers": ("es_MX", _mx_drivers),
    "us-ssn-dashed": ("en_US", _us_ssn_dashed),
    "us-resident-ssn": ("en_GB", _us_resident_ssn),
    "us-no-tin": ("en_US", _us_no_tin),
    "nl-no-address": ("nl_NL", _nl_no_address),
    "vn-residence-permit": ("vi_VN", _vn_residence_permit),
    "ca-weaker-level": ("en_CA", _ca_weaker_level),
    "ie-stricter-edd": ("en_IE", _ie_stricter_edd),
    "de-business": ("de_DE", _de_business),
    "it-rejected": ("it_IT", _it_rejected),
    "se-minimal": ("sv_SE", _se_minimal),
}


def profile_seed(seed: int, name: str) -> int:
    """Each generated profile's own seed: independent of the others and of their order."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")


def build(seed: int = DEFAULT_SEED) -> dict[str, tuple[Profile, Expected]]:
    """Every profile with its expected import outcome, by name (curated first, then generated, each sorted)."""
    out: dict[str, tuple[Profile, Expected]] = {
        name: (json.loads(json.dumps(CURATED[name])), CURATED_EXPECTED[name]) for name in sorted(CURATED)
    }
    for name in sorted(GENERATED):
        locale, builder = GENERATED[name]
        profile, expected = builder(_Gen(locale, profile_seed(seed, name)))
        profile["description"] = f"{profile['description']} [{locale}; {expected.describe()}]"
        out[name] = (profile, expected)
    return out


def generate(seed: int = DEFAULT_SEED) -> dict[str, Profile]:
    return {name: profile for name, (profile, _) in build(seed).items()}


def expectations(seed: int = DEFAULT_SEED) -> dict[str, Expected]:
    return {name: expected for name, (_, expected) in build(seed).items()}


def render(profile: Profile) -> str:
    """The committed layout: 2-space indent, UTF-8 kept as is, keys in the order written, trailing newline."""
    return json.dumps(profile, indent=2, ensure_ascii=False) + "\n"


def files(seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Relative path under `fixtures/` → exact text."""
    out = {f"profiles/{name}.json": render(profile) for name, profile in generate(seed).items()}
    out[TEMPLATE_CSV] = TEMPLATE_CSV_TEXT
    return out


def write(out_dir: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write every fixture under `out_dir` (the `fixtures/` folder); returns the paths written."""
    written = []
    for rel, text in files(seed).items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def check(out_dir: Path, seed: int = DEFAULT_SEED) -> list[str]:
    """The relative paths that differ from what the generator makes: changed, missing, or unexpected profiles."""
    expected = files(seed)
    problems = []
    for rel, text in expected.items():
        path = out_dir / rel
        if not path.is_file():
            problems.append(f"{rel} (missing)")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"{rel} (differs)")
    profiles = out_dir / "profiles"
    if profiles.is_dir():
        for path in sorted(profiles.glob("*.json")):
            rel = f"profiles/{path.name}"
            if rel not in expected:
                problems.append(f"{rel} (not generated)")
    return problems
