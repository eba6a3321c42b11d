"""Phone-number normalisation: every way a number is typed lands on the same match key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afas_tray import numbers as phone
from afas_tray.numbers import is_anonymous, is_internal, normalise

SAME_KEY = [
    # Dutch fixed line, as people type it
    ("020-1234567", "+31201234567"),
    ("020 1234567", "+31201234567"),
    ("0201234567", "+31201234567"),
    ("(020) 123 45 67", "+31201234567"),
    ("+31 (0)20 123 45 67", "+31201234567"),
    ("+31(0)201234567", "+31201234567"),
    ("+31 20 1234567", "+31201234567"),
    ("+31201234567", "+31201234567"),
    ("0031201234567", "+31201234567"),
    ("0031 (0)20 1234567", "+31201234567"),
    ("020 - 123 4567", "+31201234567"),
    ("020-12 34 56 7", "+31201234567"),
    ("  020-1234567  ", "+31201234567"),
    ("+310201234567", "+31201234567"),  # trunk zero left in after the country code
    ("tel:+31-20-123-4567", "+31201234567"),
    # regional numbers with a three-digit area code
    ("0513-123456", "+31513123456"),
    # Dutch mobile
    ("06 12345678", "+31612345678"),
    ("06-12345678", "+31612345678"),
    ("0612345678", "+31612345678"),
    ("0031612345678", "+31612345678"),
    ("+31 6 12345678", "+31612345678"),
    ("+31 (0)6 12 34 56 78", "+31612345678"),
    # service numbers
    ("0800-1234", "+318001234"),
    # Belgian
    ("+32 2 123 45 67", "+3221234567"),
    ("0032 2 1234567", "+3221234567"),
    ("+32 (0)2 123 45 67", "+3221234567"),
    ("+32 470 12 34 56", "+32470123456"),
    # German
    ("+49 30 1234567", "+49301234567"),
    ("0049 30 1234567", "+49301234567"),
    ("+49 (0)30 1234567", "+49301234567"),
    ("+49 89 12345678", "+498912345678"),
    # other countries keep their own rules
    ("+44 20 7946 0958", "+442079460958"),
    ("+1 212 555 0100", "+12125550100"),
    ("+39 06 1234 5678", "+390612345678"),  # Italy keeps its leading zero
]

EXTENSIONS = [
    ("020-1234567 toestel 12", "+31201234567"),
    ("020-1234567 Toestel: 12", "+31201234567"),
    ("020 1234567 tst. 12", "+31201234567"),
    ("020-1234567 x12", "+31201234567"),
    ("020-1234567 ext. 5", "+31201234567"),
    ("020-1234567 ext 5", "+31201234567"),
    ("+31 20 1234567 #12", "+31201234567"),
    ("+49 30 1234567 Durchwahl 12", "+49301234567"),
]

NO_KEY = [
    "",
    "   ",
    "-",
    "n.v.t.",
    "nvt",
    "geen",
    "zie e-mail",
    "onbekend",
    "0",
    "12345",  # an internal extension, not a public number
    "+31",
    "+31 ",
    "0031",
    "+31 20 1234",  # too short
    "06-1234",
    "anonymous",
    "Anonymous",
    "withheld",
    "unknown",
    "private",
    "Privé",
    "restricted",
    "+",
    "+999 12345678",  # no such country code
    "020-12345678901234",  # too long
]


@pytest.mark.parametrize(("raw", "key"), SAME_KEY)
def test_formats_land_on_one_key(raw: str, key: str) -> None:
    assert normalise(raw) == key


@pytest.mark.parametrize(("raw", "key"), EXTENSIONS)
def test_extensions_are_dropped(raw: str, key: str) -> None:
    assert normalise(raw) == key


def test_dash_group_is_part_of_the_number_not_an_extension() -> None:
    # "-12" at the end is just another group of digits
    assert normalise("020-12345-12") == "+31201234512"
    assert normalise("020-123-45-67") == "+31201234567"
    assert normalise("020-12345-12") != normalise("020-12345")


@pytest.mark.parametrize("raw", NO_KEY)
def test_junk_blanks_and_withheld_give_no_key(raw: str) -> None:
    assert normalise(raw) is None


def test_none_gives_no_key() -> None:
    assert normalise(None) is None


def test_region_decides_numbers_without_country_code() -> None:
    assert normalise("02 123 45 67", "BE") == "+3221234567"
    assert normalise("030 1234567", "DE") == "+49301234567"
    assert normalise("030 1234567", "NL") == "+31301234567"
    # a number with a country code does not care about the region
    assert normalise("+31 20 1234567", "BE") == "+31201234567"


@pytest.mark.parametrize(
    "raw", ["", "  ", "anonymous", "Anoniem", "WITHHELD", "Unknown", "private", "Privé",
            "restricted", "Nummer onderdrukt", None]
)
def test_anonymous(raw: str | None) -> None:
    assert is_anonymous(raw)


@pytest.mark.parametrize("raw", ["020-1234567", "+31201234567", "201", "n.v.t."])
def test_not_anonymous(raw: str) -> None:
    assert not is_anonymous(raw)


def test_internal_extensions() -> None:
    assert is_internal("201")
    assert is_internal("12345")
    assert is_internal(" 12 34 ")
    assert not is_internal("123456")
    assert is_internal("123456", max_digits=6)
    assert not is_internal("+31201234567")
    assert not is_internal("020-1234567")
    assert not is_internal("+201")
    assert not is_internal("")
    assert not is_internal("anonymous")
    assert not is_internal("201", max_digits=0)


@pytest.fixture
def no_parser(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The full parser fails the test if called; the key cache is empty before and after."""

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("full parse on the lookup path")

    phone._normalise_cached.cache_clear()
    monkeypatch.setattr(phone.phonenumbers, "parse", no_parse)
    yield
    phone._normalise_cached.cache_clear()


def test_e164_input_does_not_need_the_parser(no_parser: None) -> None:
    """What Xelion sends (E.164) takes the fast path: a lookup never waits for a full parse."""
    for n in range(1000):
        assert normalise(f"+3120{1000000 + n * 7919 % 9000000:07d}") is not None
    assert normalise("+31612345678") == "+31612345678"
    assert normalise("+3221234567") == "+3221234567"
    assert normalise("0201234567") == "+31201234567"


_CC = st.sampled_from(
    ["", "", "+31", "0031", "+32", "0032", "+49", "+44", "+1", "+39", "+33", "+54", "0", "00",
     "+", "+31 (0)", "0031(0)", "+3 (0)", "+39 (0)", "+1 (0)", "+49(0)"]
)
_BODY = st.lists(
    st.tuples(st.sampled_from(["", "", "", " ", "-", ".", "/", "(0)", " ("]),
              st.sampled_from("0123456789")),
    max_size=14,
)


@settings(max_examples=1000, deadline=None)
@given(cc=_CC, body=_BODY, region=st.sampled_from(["NL", "BE", "DE", "GB", "US", "IT", "AR"]))
def test_fast_path_never_disagrees_with_the_parser(
    cc: str, body: list[tuple[str, str]], region: str
) -> None:
    raw = cc + "".join(sep + digit for sep, digit in body)
    phone._normalise_cached.cache_clear()
    assert normalise(raw, region) == phone._parse(raw.strip(), region)


_MARKER = st.sampled_from(
    [" x", " x ", " ext", " ext.", " ext. ", " Ext. ", " toestel ", " tst.", " tst. ", " TST ",
     "x", " #", "; x", ";ext=", " toestel: ", " doorkies ", "  x", " x. ", " ext ", " extension ",
     " toestel", " tst", " TOESTEL", " Tst", " tst.", " toestel.", " t\u017ft ", " t\u017ft",
     " e\u0445t "]
)


@settings(max_examples=1500, deadline=None)
@given(cc=_CC, body=_BODY, marker=_MARKER, ext=st.text("0123456789", min_size=0, max_size=8),
       region=st.sampled_from(["NL", "BE", "DE", "GB", "US", "IT"]))
def test_extension_fast_path_never_disagrees_with_the_parser(
    cc: str, body: list[tuple[str, str]], marker: str, ext: str, region: str
) -> None:
    raw = cc + "".join(sep + digit for sep, digit in body) + marker + ext
    phone._normalise_cached.cache_clear()
    assert normalise(raw, region) == phone._parse(raw.strip(), region), raw


_GROUP = st.text("0123456789", min_size=1, max_size=4)


@settings(max_examples=1500, deadline=None)
@given(
    lead=st.sampled_from(["", "+31 ", "+31", "+31 (0)", "+31 (0) ", "0031 ", "+32 ", "+49 (0)",
                          "(020) ", "(0229)", "(010) ", "0", "06-", "+44 ", "+1 ", "+39 (0)"]),
    groups=st.lists(st.tuples(st.sampled_from([" ", "-", " - "]), _GROUP), min_size=0,
                    max_size=5),
    first=_GROUP,
    marker=st.sampled_from([" x", " x ", " ext", " ext. ", " toestel ", " tst. ", " tst ",
                            "  ext. ", " toestel", " tst", " tst.", " toestel.", " t\u017ft "]),
    ext=st.text("0123456789", min_size=1, max_size=6),
    region=st.sampled_from(["NL", "BE", "DE", "US"]),
)
def test_extension_shapes_agree_with_the_parser(
    lead: str, groups: list[tuple[str, str]], first: str, marker: str, ext: str, region: str
) -> None:
    """The shapes the extension fast path answers for, densely: always the parser's key."""
    raw = lead + first + "".join(sep + g for sep, g in groups) + marker + ext
    phone._normalise_cached.cache_clear()
    assert normalise(raw, region) == phone._parse(raw.strip(), region), raw


def test_common_extensions_do_not_need_the_parser(no_parser: None) -> None:
    """The extension words of the sample address books take the fast path (issue 18)."""
    for raw in ("0229 941391 ext. 172", "+31 (0)23 266 92 59 x27", "(010) 5232308 ext. 154",
                "043 9149924 toestel 180", "+31 (0)229 64 90 72 tst. 188"):
        assert normalise(raw) is not None, raw


@pytest.mark.parametrize(
    "raw",
    [
        "٠٢٠١٢٣٤٥٦٧",  # Arabic-Indic digits: not ASCII, never the fast path
        "０２０１２３４５６７",  # full-width digits
        "+31\u200920\u20091234567",  # thin spaces
        "+31 20 123 4567\n",
        "020+1234567",
        "+31 (0)20 123 45 67",
        "0031 (0) 20 1234567",
        "+3 (0)1 234 5678",
        "(0)20 1234567",
        "+",
        "--",
        "()",
        "0",
        "+310201234567",
        "+999 1234567",
        "003120123456789012",
    ],
)
def test_tricky_shapes_agree_with_the_parser(raw: str) -> None:
    phone._normalise_cached.cache_clear()
    for region in ("NL", "BE", "DE", "US"):
        assert normalise(raw, region) == phone._parse(raw.strip(), region), (raw, region)
        assert phone.normalise_uncached(raw, region) == normalise(raw, region)


def test_key_rules_name_the_library_version() -> None:
    # a stored key is only reused while these are the same (see the phone book's memo)
    assert phone.phonenumbers.__version__ in phone.KEY_RULES
