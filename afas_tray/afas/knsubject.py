"""KnSubject request bodies (AFAS dossier items) for call reports, written as a stream.

The MP3 is base64-encoded in chunks straight into the output, so a large recording is never held
in memory both raw and encoded. The body uses the list forms of AFAS's ``KnSubject_POST`` schema
(``Objects`` and the inner ``Element`` are arrays); ``SbId`` is omitted on insert, as in AFAS's
own insert examples.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import uuid
from dataclasses import dataclass
from typing import IO, Any

from afas_tray.models import Match, ReportItem

MAX_REQUEST_BYTES = 75_000_000  # AFAS (OASContent): a request is at most 75 MB; larger gets 413
MAX_SUBJECT_CHARS = 255
_CHUNK = 3 * 256 * 1024  # a multiple of 3: chunks encode to base64 without padding in between

# Lines for the AFAS users who read the dossier item: Dutch, like the rest of Profit.
NOTE_TOO_LARGE = "Opname niet bijgevoegd: groter dan de limiet van AFAS (75 MB)."
NOTE_MISSING = "Opname niet bijgevoegd: het bestand is niet meer aanwezig."

# The marker goes into SbTx and is found again with the GetConnector's "contains" filter.
# Braces, letters, digits, ':' and '-' only: AFAS's filters cannot hold ',' or ';', and '[', '_'
# and '%' are wildcards in SQL Server's LIKE, which "contains" is likely built on. The closing
# brace keeps key 12 from matching the marker of key 123.
_PLAIN_KEY = re.compile(r"[a-z0-9-]{1,64}")


def marker_for(key: str) -> str:
    """The unique line the outbox puts in SbTx, e.g. ``{afas-tray:4711}``."""
    token = key if _PLAIN_KEY.fullmatch(key) else "h" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return "{afas-tray:" + token + "}"


@dataclass(frozen=True)
class BodyInfo:
    """What :func:`write_body` wrote."""

    size: int  # bytes written
    attached: bool  # the recording went along
    note: str = ""  # the line added to SbTx when a recording was left out


# SbTx is rich text: AFAS's own insert example ("Rich text example", OASContent
# "Dossiers en bijlagen en workflows.json") writes **bold**, _italic_, ++underline++,
# ~~strike~~, "- " bullets, "1." numbering and "#"/"##"/"###" headings. That set (with ++ for
# underline) is Markdig's CommonMark plus "emphasis extras", so the CommonMark backslash escape
# is assumed to hold (the page does not say). Only what would be read as markup is escaped, so
# the text stays readable: snake_case, "3 * 4", e-mail addresses and "1.5 uur" are left alone.
_INLINE_MARKUP = re.compile(
    r"\\(?=[!-/:-@\[-`{-~])"  # a backslash that would escape the next character itself
    r"|\*(?!(?<=\s\*)\s)"  # "*" unless it stands alone between spaces ("3 * 4")
    r"|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])"  # "_" at a word's edge (intraword is no emphasis)
    r"|~(?=~)|(?<=~)~"  # "~~" strike-through
    r"|\+(?=\+)|(?<=\+)\+"  # "++" underline
    r"|`"  # code span
    r"|<(?=[A-Za-z/!?])"  # an HTML tag
    r"|\[(?=[^\]]*\]\()"  # a link "[text](url)"
)
_LINE_MARKUP = re.compile(
    r"^(?P<indent>[ \t]{0,3})(?:"
    r"(?P<head>#{1,6})(?=\s|$)"  # heading
    r"|(?P<bullet>[-+*])(?=\s)"  # bullet
    r"|(?P<num>\d{1,9})(?P<dot>[.)])(?!\d)"  # numbering ("1.Nummering", "2) ..."; not "1.5")
    r"|(?P<quote>>)"  # quote
    r"|(?P<rule>[-=_*])(?=[-=_* \t]*$)"  # a rule, or the line under a setext heading
    r")"
)


def escape_rich_text(text: str) -> str:
    """``text`` with the markup SbTx would render (see above) escaped by backslashes."""
    lines = []
    for line in text.split("\n"):
        m = _LINE_MARKUP.match(line)
        head = ""
        if m is not None:
            indent = m.group("indent")
            if m.group("num") is not None:
                head = indent + m.group("num") + "\\" + m.group("dot")
            else:
                marker = m.group("head") or m.group("bullet") or m.group("quote") or m.group("rule")
                if m.group("rule") and len(line.replace(" ", "").replace("\t", "")) < 3:
                    marker = ""  # a lone "-" or "=" is no rule
                head = indent + ("\\" + marker if marker else "")
            if head.strip():
                line = line[m.end():]
            else:
                head = ""
        lines.append(head + _INLINE_MARKUP.sub(lambda x: "\\" + x.group(0), line))
    return "\n".join(lines)


def _text(item: ReportItem, marker: str, note: str) -> str:
    parts = [p for p in (escape_rich_text(item.text.rstrip()), note) if p]
    body = "\n".join(parts)
    return f"{body}\n\n{marker}" if body else marker


def _fields(item: ReportItem, marker: str, note: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "StId": int(item.dossier_type),
        "Ds": item.subject[:MAX_SUBJECT_CHARS],
        "SbTx": _text(item, marker, note),
    }
    if item.date:
        fields["Da"] = item.date
    return fields


def link_value(match: Match, link_by: str) -> tuple[str, str]:
    """(KnSubjectLink BcId, what it holds) for ``match``: its number (BcCo) with ``link_by``
    "number" (the default: AFAS's KnSubject examples link with values like "1000744" and public
    clients send the number), its internal BcId with "id". A relation whose number the phone
    book does not have goes by its BcId, as before, and says so ("")."""
    if link_by == "id":
        return match.bcid, "id"
    if match.number:
        return match.number, "number"
    return match.bcid, ""


def _link(item: ReportItem) -> dict[str, Any] | None:
    if not item.bcid:
        return None
    link: dict[str, Any] = {"ToBC": True, "BcId": item.bcid}
    if item.contact_id:
        if not item.contact_id.strip().isdigit():
            raise ValueError(f"contact id {item.contact_id!r} is not an AFAS contact number")
        link["CdId"] = int(item.contact_id)
    return {"KnSubjectLink": {"Element": [{"Fields": link}]}}


def _file_name(item: ReportItem) -> str:
    name = item.audio_name or os.path.basename(item.audio_file) or "gesprek.mp3"
    return name[:255]


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _envelope(item: ReportItem, marker: str, note: str, attachment: dict[str, Any] | None) -> dict[str, Any]:
    objects = [o for o in (_link(item), attachment) if o is not None]
    element: dict[str, Any] = {"Fields": _fields(item, marker, note)}
    if objects:
        element["Objects"] = objects
    return {"KnSubject": {"Element": element}}


def write_body(
    item: ReportItem,
    marker: str,
    fh: IO[bytes],
    *,
    attach: bool = True,
    limit: int = MAX_REQUEST_BYTES,
) -> BodyInfo:
    """Write the KnSubject JSON body for ``item`` to ``fh``.

    The recording (``item.audio_file``) goes along when ``attach`` and the whole request stays
    within ``limit``; otherwise it is left out and SbTx says so. ``marker`` is appended to SbTx.
    Raises ``ValueError`` for an item AFAS could never accept (a non-numeric contact id).
    """
    size = -1
    if attach and item.audio_file:
        try:
            size = os.path.getsize(item.audio_file)
        except OSError:
            size = -1
    if not attach or not item.audio_file:
        note = NOTE_TOO_LARGE if item.audio_file and not attach else ""
        data = _dumps(_envelope(item, marker, note, None))
        fh.write(data)
        return BodyInfo(len(data), False, note)
    if size < 0:
        data = _dumps(_envelope(item, marker, NOTE_MISSING, None))
        fh.write(data)
        return BodyInfo(len(data), False, NOTE_MISSING)

    # JSON around a placeholder, then the base64 stream where the placeholder was.
    placeholder = uuid.uuid4().hex
    attachment = {"KnSubjectAttachment": {"Element": [{"Fields": {"FileName": _file_name(item), "FileStream": placeholder}}]}}
    head, _, tail = _dumps(_envelope(item, marker, "", attachment)).partition(placeholder.encode())
    encoded = 4 * ((size + 2) // 3)
    if len(head) + encoded + len(tail) > limit:
        return write_body(item, marker, fh, attach=False, limit=limit)
    fh.write(head)
    written = 0
    with open(item.audio_file, "rb") as audio:
        while chunk := audio.read(_CHUNK):
            out = base64.b64encode(chunk)
            fh.write(out)
            written += len(out)
    fh.write(tail)
    if written != encoded:
        # The file changed while we read it: the size check above no longer holds.
        raise OSError(f"recording {item.audio_file} changed while it was being read")
    return BodyInfo(len(head) + written + len(tail), True)


def build_body(item: ReportItem, *, marker: str, attach: bool = True, limit: int = MAX_REQUEST_BYTES) -> tuple[bytes, BodyInfo]:
    """The body as bytes (what :meth:`AfasClient.post_subject` sends), built by :func:`write_body`."""
    buffer = io.BytesIO()
    info = write_body(item, marker, buffer, attach=attach, limit=limit)
    return buffer.getvalue(), info
