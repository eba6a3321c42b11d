"""The phone book's public face: every name it declares is there, and a process that only needs
number normalisation (a hand-off, the ``dial`` command) does not load the book and the AFAS client."""

from __future__ import annotations

import subprocess
import sys

import afas_tray.phonebook as phonebook


def test_every_declared_name_resolves() -> None:
    missing = [name for name in phonebook.__all__ if getattr(phonebook, name, None) is None]
    assert missing == []


def test_the_face_and_normalise_do_not_load_the_book_or_the_afas_client() -> None:
    code = (
        "import sys\n"
        "import afas_tray.phonebook\n"
        "from afas_tray.numbers import normalise\n"
        "assert normalise('020 622 1234') == '+31206221234'\n"
        "print(sorted(m for m in sys.modules if m.startswith(('afas_tray.phonebook.', 'afas_tray.afas', 'httpx'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # the face alone loads none of the book
