"""Two-language texts for the core (Dutch and English), without Qt.

The Qt layer translates its own widgets with Qt Linguist files; the core returns ``Text`` objects
so a message can be shown in the user's language wherever it ends up (CLI, tray, dialog).
"""

from __future__ import annotations

import locale
import os
from dataclasses import dataclass
from typing import Literal

Language = Literal["en", "nl"]

_language: Language | None = None


def system_language() -> Language:
    """Dutch when the system language is Dutch, English otherwise."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "nl" if value.lower().startswith("nl") else "en"
    try:
        loc = locale.getlocale()[0] or ""
    except ValueError:
        loc = ""
    return "nl" if loc.lower().startswith("nl") else "en"


def set_language(lang: str | None) -> None:
    """``"nl"``, ``"en"``, or ``None``/``"system"`` to follow the system."""
    global _language
    _language = lang if lang in ("nl", "en") else None  # type: ignore[assignment]


def current_language() -> Language:
    return _language or system_language()


@dataclass(frozen=True)
class Text:
    """A message in both languages; ``str()`` gives the current language."""

    en: str
    nl: str

    def format(self, **kwargs: object) -> Text:
        return Text(self.en.format(**kwargs), self.nl.format(**kwargs))

    def get(self, lang: Language | None = None) -> str:
        return self.nl if (lang or current_language()) == "nl" else self.en

    def __str__(self) -> str:
        return self.get()


def T(en: str, nl: str) -> Text:
    return Text(en, nl)
