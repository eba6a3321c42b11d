"""`afas-tray call` starts with nothing but itself: in a bare interpreter (no site-packages, as
in the frozen bundle) the hand-off reaches the running app and loads no library module, and the
shortcuts that make that possible say what the full versions say (the gate's character sets
and its regular expressions, the folders without platformdirs and with it)."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import platformdirs
import pytest
from pytestqt.qtbot import QtBot

from afas_tray import APP_ID, handoff
from afas_tray.handoff import HandoffError, event_from_line, validate_call_id, validate_number
from afas_tray.system import instance_client
from afas_tray.system.instance_client import instance_name, profile_instance_name
from afas_tray.system.paths import HOME_ENV, app_paths
from afas_tray.ui.single_instance import SingleInstanceServer
from tests.helpers import REPO

# The regular expressions the gate's sets stand for (what handoff.py used to compile).
NUMBER_RE = re.compile(r"\+?[0-9 ()./\-]+")
CALL_ID_RE = re.compile(r"[A-Za-z0-9._:@+=/{}~\-]+")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
JSON_PLAIN_RE = re.compile(r'[ !#-\[\]-~]*')

# Every code point up to U+3000 and a few far ones (fullwidth digits, other scripts' digits,
# line separators, a surrogate, emoji).
CHARS = [chr(c) for c in range(0x3000)] + list("\uff10\uff11\u0663\u06f3\u2028\u2029\ufeff\U0001f4de")


def test_the_character_sets_are_the_regular_expressions() -> None:
    for c in CHARS:
        assert (c in handoff._NUMBER_CHARS) == bool(NUMBER_RE.fullmatch(c)) or c == "+", repr(c)
        assert (c in handoff._CALL_ID_CHARS) == bool(CALL_ID_RE.fullmatch(c)), repr(c)
        assert (c in handoff._CONTROL) == bool(CONTROL_RE.fullmatch(c)), repr(c)
        assert (c in handoff._JSON_PLAIN) == bool(JSON_PLAIN_RE.fullmatch(c)), repr(c)


@pytest.mark.parametrize("raw", ["+", "++31201234567", "+31+20", "+(0)20 123", "0+20", "-",
                                 "+ 31 20", "020\u00a0123", "\uff10\uff12\uff10", "06-12345678"])
def test_a_plus_counts_only_at_the_start(raw: str) -> None:
    try:
        accepted = validate_number(raw) is not None
    except HandoffError:
        accepted = False
    number = " ".join((raw.strip()[:1] + raw.strip()[1:].replace("+", " ")).split())
    assert accepted == bool(NUMBER_RE.fullmatch(number) and any(c.isdigit() for c in number))


@pytest.mark.parametrize("raw", ["abc@host", "a b", "x\u00e9", "{uuid-1}", "id\n", "~ok=1/2+3"])
def test_call_ids_pass_as_the_regular_expression_lets_them(raw: str) -> None:
    try:
        accepted = validate_call_id(raw) == raw
    except HandoffError:
        accepted = False
    assert accepted == bool(CALL_ID_RE.fullmatch(raw))


@pytest.mark.parametrize(("xdg_data", "home"), [
    ("set", "tmp"), ("", "tmp"), (None, "tmp"), ("relative/data", "tmp"), (None, "relative"),
    (None, None),
])
def test_the_data_folder_is_platformdirs_one(xdg_data: str | None, home: str | None,
                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    values = {"set": str(tmp_path / "xdg-data"), "tmp": str(tmp_path)}
    for name, value in (("XDG_DATA_HOME", xdg_data), ("HOME", home)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, values.get(value, value))
    assert instance_client._user_data_dir() == platformdirs.user_data_dir(APP_ID, appauthor=False)
    assert profile_instance_name() == instance_name(app_paths())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG runtime folder")
def test_the_socket_goes_in_the_runtime_folder_when_there_is_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    # A short path: the socket's must fit sun_path (pytest's tmp_path is too long for it).
    runtime = Path(tempfile.mkdtemp(prefix="xr-"))  # made 0700
    request.addfinalizer(lambda: shutil.rmtree(runtime, ignore_errors=True))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    name = instance_name(app_paths(tmp_path / "home"))
    assert Path(name).parent == runtime / APP_ID
    assert (runtime / APP_ID).stat().st_mode & 0o077 == 0
    # A runtime folder others may write to is passed over (for the data folder or the temp dir).
    shared = runtime / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared))
    assert not instance_name(app_paths(tmp_path / "home2")).startswith(str(shared))


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor


def imported(stderr: str) -> list[str]:
    """Every module ``-X importtime`` reports, in order."""
    return [line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and "|" in line]


# What a bare interpreter loads on its own, and what `python -m` adds (runpy).
BARE_ALLOWED = re.compile(
    r"(afas_tray(\..+)?|_sha256|_sha2|_socket|__future__|runpy|importlib(\..+)?|contextlib"
    r"|collections(\..+)?|functools|_functools|types|keyword|operator|_operator|reprlib"
    r"|_collections|_weakrefset|weakref|itertools|pkgutil|warnings|.*encodings.*|_.*codec.*"
    r"|zipimport|_distutils_hack|os|stat|_stat|posixpath|genericpath)")


@pytest.mark.skipif(sys.platform == "win32", reason="the Windows pipe is another path")
@pytest.mark.parametrize("how", ["module", "console script"])
def test_the_hand_off_loads_nothing_but_itself(how: str, qtbot: QtBot, pool: ThreadPoolExecutor,
                                               tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = SingleInstanceServer(instance_name(app_paths(home)))
    assert server.listen()
    got: list[str] = []
    server.received.connect(got.append)
    if how == "module":
        cmd = [sys.executable, "-S", "-X", "importtime", "-m", "afas_tray"]
    else:
        # What pip writes for the `afas-tray` console script, run by the same interpreter.
        script = tmp_path / "afas-tray"
        script.write_text("import re\nimport sys\nfrom afas_tray.cli.main import main\n"
                          "if __name__ == '__main__':\n"
                          "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
                          "    sys.exit(main())\n", encoding="utf-8")
        cmd = [sys.executable, "-S", "-X", "importtime", str(script)]
    # -S: no site-packages; everything the hand-off needs is in the package itself.
    env = {**os.environ, "PYTHONPATH": str(REPO), HOME_ENV: str(home)}
    try:
        future = pool.submit(subprocess.run, [*cmd, "call", "020 123 4567", "--call-id", "s1"],
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL)
        qtbot.waitUntil(future.done, timeout=30000)
        proc = future.result()
        assert proc.returncode == 0, proc.stderr[-2000:]
        qtbot.waitUntil(lambda: len(got) == 1, timeout=3000)
        event = event_from_line(got[0])
        assert (event.number, event.call_id) == ("020 123 4567", "s1")
        modules = imported(proc.stderr)
        ours = modules[modules.index("afas_tray"):]
        # The console script's own `import re` comes before ours: not counted against us.
        assert [m for m in ours if not BARE_ALLOWED.fullmatch(m)] == []
        assert "afas_tray.cli.call" in ours
    finally:
        server.close()
