"""What the tests share, written once: the simulated servers as fixtures, settings that point at
them, waiting on a condition, the started core, the Qt loop and languages, the X server.

``tests/conftest.py`` registers the fixture modules (``pytest_plugins``), so a test names a
fixture without importing it; plain helpers are imported from here (``from tests.helpers.wait
import until``). The folders beside this one mirror ``afas_tray/``.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
SPECS = TESTS / "specs"  # the AFAS OpenAPI files kept with the tests (CI has no ../shared)
DATA = TESTS / "data"
