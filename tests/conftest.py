"""Shared fixtures: every test runs in its own throw-away profile (AFAS_TRAY_HOME)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt tests run offscreen; set before any test module imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch a real keychain from the tests.
os.environ["AFAS_TRAY_SECRETS"] = "file"


@pytest.fixture(autouse=True)
def profile_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "profile"
    monkeypatch.setenv("AFAS_TRAY_HOME", str(home))
    monkeypatch.setenv("AFAS_TRAY_SECRETS", "file")
    return home
