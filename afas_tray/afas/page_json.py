"""``json.loads`` for a GetConnector page, made to run on a worker thread beside the UI's loop.

A page is up to 150,000 cells, 1-3 MB of JSON; ``json.loads`` parses it in one C call that
keeps the GIL for 10-30 ms, so even on a worker thread the loop (which needs the GIL for every
callback) would wait as long. ``loads`` gives the same value, but parses the arrays in the
top-level object (the page's ``rows``) a slice of about ``CHUNK_CHARS`` at a time, cut after a
row (``},``): between two slices the interpreter hands the GIL to the loop when it waits.

A cut that falls inside a string or a nested value leaves that slice unbalanced, which the
parser refuses; any refusal falls back to ``json.loads`` of the whole text, so the value (and
the error for what is not JSON) is always exactly ``json.loads``'s.
"""

from __future__ import annotations

import json
import re
from typing import Any

CHUNK_CHARS = 32 * 1024  # about 150 rows: well under a millisecond of parsing per slice

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")  # the whitespace JSON allows (json.decoder's WHITESPACE)


def _skip(text: str, i: int) -> int:
    """The index of the first non-whitespace character from ``i`` on."""
    found = _SPACE.match(text, i)
    return found.end() if found else i


def loads(body: bytes | str) -> Any:
    """``json.loads(body)``: the same value, and the same ``ValueError`` for what is not JSON."""
    text = body if isinstance(body, str) else body.decode(json.detect_encoding(body), "surrogatepass")
    try:
        return _object(text)
    except (ValueError, IndexError):
        # Not the object this expects, or not JSON at all: the plain parser's answer and error.
        return json.loads(text)


def _object(text: str) -> dict[str, Any]:
    i = _skip(text, 0)
    if text[i:i + 1] != "{":
        raise ValueError("not an object")
    out: dict[str, Any] = {}
    i = _skip(text, i + 1)
    if text[i:i + 1] == "}":
        i += 1
    else:
        while True:
            if text[i:i + 1] != '"':
                raise ValueError("expected a key")
            key, i = _DECODER.raw_decode(text, i)
            i = _skip(text, i)
            if text[i:i + 1] != ":":
                raise ValueError("expected ':'")
            i = _skip(text, i + 1)
            if text[i:i + 1] == "[":
                value, i = _array(text, i)
            else:
                value, i = _DECODER.raw_decode(text, i)
            out[key] = value
            i = _skip(text, i)
            mark = text[i:i + 1]
            i = _skip(text, i + 1)
            if mark == "}":
                break
            if mark != ",":
                raise ValueError("expected ',' or '}'")
    if _skip(text, i) != len(text):
        raise ValueError("extra data")
    return out


def _array(text: str, i: int) -> tuple[list[Any], int]:
    """The array starting at ``text[i] == "["``, a slice at a time: (value, index after it)."""
    items: list[Any] = []
    start = i + 1  # always just after "[" or after the "," that ends a row
    while True:
        cut = text.find("},", start + CHUNK_CHARS)
        if cut < 0:
            break
        # Complete rows, or a ValueError (see the module text) and the caller's fallback.
        items += json.loads("[" + text[start:cut + 1] + "]")
        start = cut + 2
    rest = "[" + text[start:]
    tail, end = _DECODER.raw_decode(rest)
    if not isinstance(tail, list):
        raise ValueError("not an array")
    items += tail
    return items, start + end - 1
