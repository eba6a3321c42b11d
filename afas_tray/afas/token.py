"""The AFAS ``Authorization`` header from a token in any of the forms users paste.

Profit wants ``AfasToken <base64 of <token><version>1</version><data>HEX</data></token>>``.
Users paste the XML, only the hex data, or the already encoded base64; all three are accepted.
"""

from __future__ import annotations

import base64
import binascii
import re

from afas_tray.afas.errors import AfasTokenError

_XML_RE = re.compile(
    r"<token>\s*<version>\s*\d+\s*</version>\s*<data>\s*[0-9A-Fa-f]+\s*</data>\s*</token>"
)
_DATA_RE = re.compile(r"[0-9A-Fa-f]{16,}")


def token_xml(token: str) -> str:
    """The token XML for ``token`` in any accepted form; :class:`AfasTokenError` otherwise."""
    value = token.strip()
    if value[:10].lower() == "afastoken ":
        value = value[10:].strip()
    if _XML_RE.fullmatch(value):
        return value
    if _DATA_RE.fullmatch(value):
        return f"<token><version>1</version><data>{value}</data></token>"
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8").strip()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise AfasTokenError() from None
    if _XML_RE.fullmatch(decoded):
        return decoded
    raise AfasTokenError()


def auth_header(token: str) -> str:
    """``AfasToken <base64>`` for the Authorization header."""
    return "AfasToken " + base64.b64encode(token_xml(token).encode("utf-8")).decode("ascii")
