"""Shared by the phone-book tests."""

from __future__ import annotations

import pytest

import afas_tray.phonebook.rows as rows_module


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Raw numbers the phone book had to normalise (rather than take from the last book)."""
    parsed: list[str] = []
    real = rows_module.normalise_uncached

    def counting(raw: str, region: str = "NL") -> str | None:
        parsed.append(raw)
        return real(raw, region)

    monkeypatch.setattr(rows_module, "normalise_uncached", counting)
    return parsed
