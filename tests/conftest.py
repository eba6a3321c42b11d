"""Shared fixtures: every test runs in its own throw-away profile (AFAS_TRAY_HOME).

The fixture modules of ``tests/helpers`` are registered here once, so a test names ``afas_sim``,
``servers``, ``xelion_sim``, ``qloop``, ``english`` … without importing them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt tests run offscreen; set before any test module imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never touch a real keychain from the tests.
os.environ["AFAS_TRAY_SECRETS"] = "file"

pytest_plugins = [
    "tests.helpers.afas",
    "tests.helpers.core",
    "tests.helpers.xelion",
    "tests.helpers.ui",
    "tests.helpers.x11",
]


@pytest.fixture(autouse=True)
def profile_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "profile"
    monkeypatch.setenv("AFAS_TRAY_HOME", str(home))
    monkeypatch.setenv("AFAS_TRAY_SECRETS", "file")
    return home
