"""Phone-number normalisation: every way a number is written lands on one E.164 match key.

Parsing is left to ``phonenumbers``. This module only adds what the library does not know:
Dutch/German extension words (``toestel 12``), the words telephony systems use for a withheld
number, a plausibility rule for keys, and a fast path for the common plain shapes (``+31…``,
``0031…``, ``020-…``) checked against the library's own metadata, so a lookup of an E.164 number
costs a microsecond or two and a full phone-book refresh is not bound by parsing. The fast path
only ever answers where the parser would give the same answer (tests compare the two).
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberFormat

# Words that stand for "no caller id" in Xelion, SIP (RFC 3325 "anonymous"), desk phones, and
# Dutch/German/English exchanges. Compared after lower-casing and trimming punctuation.
_ANONYMOUS_WORDS = frozenset(
    {
        "anonymous",
        "anoniem",
        "anonym",
        "withheld",
        "number withheld",
        "unknown",
        "onbekend",
        "unbekannt",
        "private",
        "privé",
        "prive",
        "restricted",
        "unavailable",
        "not available",
        "hidden",
        "verborgen",
        "afgeschermd",
        "geheim",
        "nummer onderdrukt",
        "no caller id",
        "clip no screening",
    }
)

# Extension markers phonenumbers does not recognise (it knows "x", "ext", "#", ";ext=" …).
# Without this, "toestel" would be read as a vanity number (letters mapped to keypad digits).
_EXTENSION_WORDS = re.compile(
    r"(?i)\b(?:toestel|tst|tstl|tsl|doorkies(?:nummer|nr)?|intern|durchwahl|dw|nebenstelle|poste)"
    r"\b\.?:?\s*(?=\d)"
)
# The usual separators: a number of digits and these only may take the fast path (anything with
# letters, "#", extension words and so on goes to the full parser).
_DROP_SEPARATORS = str.maketrans("", "", " \t\u00a0-./()")
_TRUNK_ZERO = re.compile(r"(?:\+|00)\s*([1-9][0-9]{0,2})\s*(\(0\))")
# Shortest national significant number accepted when the library calls a number possible but
# not valid (new or unlisted ranges); shorter "possible" strings are mostly junk like "12345".
_MIN_UNVERIFIED_NSN = 7
_INTERNAL_CHARS = re.compile(r"[\d\s\-.]+")
# The extension shapes of most address books (``020 1234567 toestel 12``, ``… x27``,
# ``… ext. 154``), main number in the plain shapes only: digits in groups split by single
# spaces or dashes, after ``+``/``00`` and a country code (``(0)`` only right after that),
# ``0`` or ``(0…)``. Anything else (``;``, ``#``, a ``(0)`` inside the number, other words)
# goes to the parser, which treats these oddities its own way (tests compare the two).
_PLAIN_EXTENSION = re.compile(
    r"(?P<main>(?:\+[1-9][0-9]{0,2} ?(?:\(0\) ?)?|\(0[0-9]{1,4}\) ?)?[0-9]+(?:(?: |-| - )[0-9]+)*)"
    # "toestel"/"tst" need a space or dot before the digits (the parser's word boundary:
    # "toestel12" it reads as a vanity number); ASCII only ("ſ" is an "s" to IGNORECASE).
    r" +(?:x ?|ext\.? ?|(?:toestel|tst)(?:\. ?| ))[0-9]{1,6}",
    re.IGNORECASE | re.ASCII,
)


# What a stored match key depends on besides the raw text and the region: these rules and the
# library's metadata. A cache of earlier keys is only reused while this stays the same; bump the
# leading number whenever this module's rules change what a number normalises to.
KEY_RULES = f"1/phonenumbers-{phonenumbers.__version__}"


def is_anonymous(raw: str | None) -> bool:
    """True when the caller id is missing or withheld (no number to look up)."""
    if raw is None:
        return True
    text = raw.strip().strip(".:;<>\"'").strip().lower()
    return text == "" or text in _ANONYMOUS_WORDS


def is_internal(raw: str | None, max_digits: int = 5) -> bool:
    """True for a short internal extension (at most ``max_digits`` digits, no ``+``)."""
    if raw is None or max_digits <= 0:
        return False
    text = raw.strip()
    if not text or not _INTERNAL_CHARS.fullmatch(text):
        return False
    digits = sum(ch.isdigit() for ch in text)
    return 0 < digits <= max_digits


def normalise(raw: str | None, region: str = "NL") -> str | None:
    """The E.164 match key of ``raw`` (extension dropped), or ``None`` for blanks, junk and
    withheld numbers. ``region`` decides how numbers without a country code are read."""
    if raw is None:
        return None
    return _normalise_cached(raw, region)


def normalise_uncached(raw: str, region: str = "NL") -> str | None:
    """``normalise`` without its small LRU cache, for bulk callers that keep their own memo
    (a full phone-book refresh sees each number once; the LRU would only churn)."""
    text = raw.strip()
    fast = _fast(text, region)
    if fast is None and not text.isdigit():
        # The key is the main number's: the parser takes ten times longer for the extension
        # word (issue 18: these were most of the lookup's slowest 1 %).
        found = _PLAIN_EXTENSION.fullmatch(text)
        if found is not None:
            fast = _fast(found.group("main"), region)
    return fast if fast is not None else _parse(text, region)


def _fast(text: str, region: str) -> str | None:
    """The key of a plain-shaped number without the parser, or ``None`` ("parse it")."""
    # Only digits (and one leading "+") may be left once the separators are gone; that is
    # checked with str methods rather than a regex, as this runs for every number of a refresh
    # and lookup. Most arrive without separators (E.164 from Xelion): nothing to take out.
    if not text[1:].isdigit():
        plain = _drop_trunk_zero(text) if "(0)" in text else text
        text = plain.translate(_DROP_SEPARATORS)
    return _fast_plain(text, region) if text.isascii() else None


_normalise_cached = lru_cache(maxsize=1 << 16)(normalise_uncached)


def _parse(text: str, region: str) -> str | None:
    if not text or is_anonymous(text):
        return None
    text = _EXTENSION_WORDS.sub(" ext. ", text)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    number.extension = None
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
            return None
        if len(phonenumbers.national_significant_number(number)) < _MIN_UNVERIFIED_NSN:
            return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _drop_trunk_zero(text: str) -> str:
    """``+31 (0)20 …`` → ``+31 20 …``: the parser strips that national prefix as well, but only
    when ``(0)`` follows a whole country code (``+3 (0)1…`` is Greece to the parser) of a
    country whose national prefix is ``0`` (Italy keeps its zero)."""
    found = _TRUNK_ZERO.match(text)
    if found is None:
        return text
    code = found.group(1)
    for size in range(1, len(code) + 1):
        if _country_info(int(code[:size])) is not None:
            if size == len(code) and _trunk_is_zero(int(code)):
                return text[: found.start(2)] + text[found.end(2) :]
            return text
    return text


@lru_cache(maxsize=512)
def _trunk_is_zero(code: int) -> bool:
    """Whether the parser strips a plain ``0`` national prefix for this country code."""
    region = phonenumbers.region_code_for_country_code(code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    return (
        metadata is not None
        and metadata.national_prefix_for_parsing == "0"
        and not metadata.national_prefix_transform_rule
    )


def _fast_plain(skeleton: str, region: str) -> str | None:
    """The key for a separator-free number in the simple, common shapes (``+31…``, ``0031…``,
    ``020…``), using the region's own prefixes from the phonenumbers metadata; ``None`` means
    "let the parser decide". Tests check that it never disagrees with the parser."""
    if skeleton[:1] == "+":
        digits = skeleton[1:]
    else:
        try:
            prefixes = _REGION_PREFIXES[region]
        except KeyError:
            prefixes = _REGION_PREFIXES.setdefault(region, _region_prefixes(region))
        if prefixes is None:
            return None
        country, international, national = prefixes
        if skeleton.startswith(international):
            digits = skeleton[len(international) :]
        elif skeleton.startswith(national):
            digits = country + skeleton[len(national) :]
        else:
            return None
    # The shape of E.164: up to 15 ASCII digits, no leading zero (the caller checked isascii).
    if not (7 <= len(digits) <= 15 and digits.isdigit()) or digits[0] == "0":
        return None
    return _fast_e164(digits)


# region -> its prefixes (or None): a plain dict, consulted once per number of a refresh.
_REGION_PREFIXES: dict[str, tuple[str, str, str] | None] = {}


def _region_prefixes(region: str) -> tuple[str, str, str] | None:
    """(country code, international prefix, national prefix) when all are plain digit strings
    and the national prefix is stripped as is (no transform rules as in Argentina)."""
    metadata = PhoneMetadata.metadata_for_region(region.upper())
    if metadata is None:
        return None
    international = metadata.international_prefix or ""
    national = metadata.national_prefix or ""
    if not (international.isdigit() and national.isdigit()):
        return None
    if metadata.national_prefix_for_parsing != national or metadata.national_prefix_transform_rule:
        return None
    return str(metadata.country_code), international, national


_CountryInfo = tuple[int, frozenset[int], "re.Pattern[str] | None", "re.Pattern[str] | None"]
# First three digits after the "+" -> (country code length, country info), or None for no
# known code. Country codes are prefix-free, so three digits decide; a few hundred entries.
_BY_LEAD: dict[str, _CountryInfo | None] = {}


def _country_by_lead(lead: str) -> _CountryInfo | None:
    for size in (1, 2, 3):
        info = _country_info(int(lead[:size]))
        if info is not None:
            return (size, *info)
    return None


def _fast_e164(digits: str) -> str | None:
    """``+digits`` when the slow path would return it unchanged; ``None`` means "parse it".

    Accepts only what is certainly canonical: a known country code, a national number of a
    possible length for that country and at least ``_MIN_UNVERIFIED_NSN`` digits, and no
    national prefix the parser would strip (``+310…``).
    """
    lead = digits[:3]
    try:
        found = _BY_LEAD[lead]
    except KeyError:
        found = _BY_LEAD.setdefault(lead, _country_by_lead(lead))
    if found is None:
        return None
    size, lengths, prefix, pattern = found
    nsn = digits[size:]
    if len(nsn) < _MIN_UNVERIFIED_NSN or len(nsn) not in lengths:
        return None
    if prefix is not None and prefix.match(nsn):
        return None
    if pattern is not None and not pattern.fullmatch(nsn):
        return None
    return "+" + digits


@lru_cache(maxsize=512)
def _country_info(
    code: int,
) -> tuple[frozenset[int], re.Pattern[str] | None, re.Pattern[str] | None] | None:
    region = phonenumbers.region_code_for_country_code(code)
    if region == phonenumbers.UNKNOWN_REGION:
        return None
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if metadata is None or metadata.general_desc is None:
        return None
    lengths = frozenset(metadata.general_desc.possible_length or ())
    local_only = frozenset(metadata.general_desc.possible_length_local_only or ())
    prefix = metadata.national_prefix_for_parsing
    pattern = metadata.general_desc.national_number_pattern
    return (
        lengths - local_only,
        re.compile(prefix) if prefix else None,
        re.compile(pattern) if pattern else None,
    )


def display(raw: str | None, region: str = "NL") -> str:
    """The number as an operator reads it: national format (``020 123 4567``) for the default
    region, international (``+32 2 123 45 67``) for the others; unparseable text as written."""
    text = (raw or "").strip()
    key = normalise(text, region) if text else None
    if key is None:
        return text
    return _display_cached(key, region)


@lru_cache(maxsize=4096)
def _display_cached(e164: str, region: str) -> str:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    own = phonenumbers.region_code_for_number(number) == region.upper() or (
        number.country_code == phonenumbers.country_code_for_region(region.upper())
    )
    style = PhoneNumberFormat.NATIONAL if own else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def extension_of(raw: str | None, region: str = "NL") -> str:
    """The extension written after a number (``x 12``, ``toestel 12``, ``;ext=12``), or ``""``.

    ``normalise`` drops it (the match key is the main number); dialling keeps it."""
    if not raw or is_anonymous(raw):
        return ""
    text = _EXTENSION_WORDS.sub(" ext. ", raw.strip())
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ""
    return number.extension or ""
