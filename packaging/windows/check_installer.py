"""Prove the Windows installer on Linux: Inno Setup's real compiler and setup program under Wine.

    python3 packaging/windows/check_installer.py [--keep]

Installs what is missing (Debian's Wine with its 32-bit half, as root through apt-get; the npm
package ``innosetup`` for ISCC.exe), builds a stand-in bundle folder, compiles afas-tray.iss
with build.py's own defines for a pre-release and a release version, and runs the setup and
the uninstaller silently: files, Start-menu shortcut, the afas-tray:// keys, the tel:/callto:
registration (Default apps), the Run value, the uninstall key, the preset import, upgrades with
and without the start-at-login task, and uninstalls with and without /PURGE. One line per check,
``ok`` or ``FAIL``; exit code 1 on any FAIL. When Wine or the compiler cannot be had (no root, a
package mirror mid-sync, no npm, a Wine that cannot start) it prints ``skip: <why>`` and exits 0:
that is not an installer fault.

Under Wine two things differ from a real build, both by ISCC defines only:
  * ``InstallDir``: Wine has no per-user Programs folder, so ``{autopf}`` fails silently; the
    check installs to ``{localappdata}\\Programs\\AFAS Tray``, the folder {autopf} is on Windows.
  * ``CliExe``: ``afas-tray-cli.cmd``, a batch file standing in for ``afas-tray-cli.exe`` (Inno's
    Exec runs batch files through cmd.exe). It logs each call and, for ``config import FILE``,
    exits 3 when FILE does not exist, else copies it to %LOCALAPPDATA%\\afas-tray\\settings.json.
    So it proves which file the installer hands the CLI, and that a failing import is reported
    and does not stop the install; it does not prove the real CLI's validation or the
    Credential Manager (the release workflow's Windows job runs the real frozen app).

The Wine prefix and the compiler are kept under the temp folder and reused by the next run
(``wineboot`` runs once). WINEDEBUG=-all keeps Wine quiet; menu and Mono/Gecko hooks are off.
Setup builds its wizard window even when silent, so without $DISPLAY a private Xvfb runs.
"""

from __future__ import annotations

import argparse
import getpass
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ISS = HERE / "afas-tray.iss"
INNO_VERSION = "6.4.1"
APP_NAME = "AFAS Tray"
_guid = re.search(r'^#define AppGuid "([0-9A-F-]+)"', ISS.read_text(encoding="utf-8"), re.MULTILINE)
GUID = _guid.group(1) if _guid else "AppGuid missing in afas-tray.iss"
RUN_KEY = r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run"
UNINSTALL_KEY = (r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Uninstall"
                 f"\\{{{GUID}}}_is1")
CLASSES = r"HKEY_CURRENT_USER\Software\Classes"
# URL schemes the installer registers, with their description (add one line per new scheme).
SCHEMES = {"afas-tray": f"URL:{APP_NAME} call"}
# tel:/callto: (issue 16): offered under "Default apps" through RegisteredApplications and
# Capabilities\URLAssociations, each scheme pointing at a ProgID (add one line per new scheme).
REGISTERED_APPS = r"HKEY_CURRENT_USER\Software\RegisteredApplications"
APP_KEY = f"HKEY_CURRENT_USER\\Software\\{APP_NAME}"
CAPABILITIES = f"{APP_KEY}\\Capabilities"
LINK_SCHEMES = {"tel": "AfasTray.PhoneLink", "callto": "AfasTray.PhoneLink"}
# ProgIDs under Software\Classes, with the CustomMessage that names them (one line per ProgID).
PROG_IDS = {"AfasTray.PhoneLink": "PhoneLinkName"}
OTHER_APP = "Other Dialer"  # another program's RegisteredApplications value: must survive us
PRE, REL = "0.2.0rc1", "0.2.0"  # first install a pre-release, upgrade to the release

STAND_IN_CLI = r"""@echo off
rem Stand-in for afas-tray-cli.exe (packaging/windows/check_installer.py): logs every call.
if not exist "%LOCALAPPDATA%\afas-tray-check" mkdir "%LOCALAPPDATA%\afas-tray-check"
echo %*>>"%LOCALAPPDATA%\afas-tray-check\cli.log"
if /i not "%~1 %~2"=="config import" exit /b 0
if not exist "%~3" exit /b 3
if not exist "%LOCALAPPDATA%\afas-tray" mkdir "%LOCALAPPDATA%\afas-tray"
copy /y "%~3" "%LOCALAPPDATA%\afas-tray\settings.json" >nul
exit /b %errorlevel%
"""


class Skip(Exception):
    """Wine or the compiler is not available here: not an installer fault."""


def load_build() -> ModuleType:
    """packaging/build.py, for the very defines a release build passes to ISCC."""
    spec = importlib.util.spec_from_file_location("afas_tray_packaging_build", ROOT / "packaging" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def win(path: Path) -> str:
    """A Unix path as Wine's Z: drive shows it."""
    return "Z:" + str(path).replace("/", "\\")


def tiny_ico() -> bytes:
    """A 16x16 32-bit icon (BMP entry): SetupIconFile needs a real .ico, not Qt's rendering."""
    size = 16
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, 0, 0, 0, 0, 0)
    pixels = bytes([0x2E, 0x7D, 0x32, 0xFF]) * size * size
    mask = bytes(4 * size)  # 16 rows of 32-bit-aligned 1-bit rows: all opaque
    image = header + pixels + mask
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32,
                                                     len(image), 22) + image


def version_resource(blob: bytes) -> tuple[dict[str, str], list[str]]:
    """The version strings and the numeric product version (VS_FIXEDFILEINFO) of a PE file."""
    texts = {}
    for key in ("ProductVersion", "FileVersion"):
        at = blob.find(key.encode("utf-16-le") + b"\0\0")
        if at >= 0:
            start = at + 2 * len(key) + 2
            start += (4 - start % 4) % 4  # the value is 32-bit aligned
            end = blob.find(b"\0\0", start)
            while end >= 0 and (end - start) % 2:
                end = blob.find(b"\0\0", end + 1)
            texts[key] = blob[start:end].decode("utf-16-le", "replace").strip()  # Inno pads
    fixed: list[str] = []
    at = blob.find(struct.pack("<I", 0xFEEF04BD))
    if at >= 0:
        ms, ls = struct.unpack_from("<II", blob, at + 16)  # dwProductVersionMS, dwProductVersionLS
        fixed = [str(ms >> 16), str(ms & 0xFFFF), str(ls >> 16), str(ls & 0xFFFF)]
    return texts, fixed


# --- getting Wine and the compiler ---------------------------------------------------------------


def ensure_wine() -> None:
    debian = Path("/usr/lib/wine")  # Debian's loaders: wine64 (64-bit), wine (32-bit, for ISCC.exe)
    have = shutil.which("wine") and (not debian.is_dir() or all((debian / n).exists() for n in ("wine", "wine64")))
    missing = [] if have else ["wine", "wine64", "wine32:i386"]
    if not os.environ.get("DISPLAY") and not shutil.which("Xvfb"):
        missing.append("xvfb")
    if not missing:
        return
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Skip(f"{' and '.join(missing)} not installed, and installing needs root and apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")

    def apt(*cmd: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                  timeout=600, check=False)
        except subprocess.TimeoutExpired:
            raise Skip(f"{' '.join(cmd[:2])} did not finish in 10 minutes") from None

    started = time.monotonic()
    apt("dpkg", "--add-architecture", "i386")
    # A mirror mid-sync fails a few index files; the rest may still do: try the install anyway.
    apt("apt-get", "update", "-qq")
    done = apt("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing)
    if done.returncode != 0 or not shutil.which("wine"):
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise Skip(f"apt-get could not install {' '.join(missing)}: {tail[0]}")
    print(f"installed {' '.join(missing)} in {time.monotonic() - started:.0f} s", flush=True)


def ensure_iscc(cache: Path) -> Path:
    iscc = cache / "npm" / "node_modules" / "innosetup" / "bin" / "ISCC.exe"
    if iscc.exists():
        return iscc
    if not shutil.which("npm"):
        raise Skip("npm is not installed: no way to get Inno Setup's compiler")
    started = time.monotonic()
    try:
        done = subprocess.run(["npm", "install", "--prefix", str(cache / "npm"), "--no-audit", "--no-fund",
                               "--loglevel=error", f"innosetup@{INNO_VERSION}"],
                              capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        raise Skip("npm install did not finish in 5 minutes") from None
    if done.returncode != 0 or not iscc.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no message"]
        raise Skip(f"npm could not install innosetup@{INNO_VERSION}: {tail[0]}")
    print(f"installed innosetup@{INNO_VERSION} (ISCC.exe) in {time.monotonic() - started:.0f} s", flush=True)
    return iscc


class Wine:
    def __init__(self, prefix: Path) -> None:
        self.prefix = prefix
        self.env = dict(os.environ, WINEPREFIX=str(prefix), WINEDEBUG="-all",
                        # no Mono/Gecko prompts, no .desktop files for our Start-menu shortcut
                        WINEDLLOVERRIDES="mscoree,mshtml,winemenubuilder.exe=d")
        self.xvfb: subprocess.Popen[bytes] | None = None

    def start_display(self) -> None:
        """Setup builds its wizard even when silent, and Wine's display-less driver cannot
        (``Error reading FPreparingMemo.Lines.Strings``): a private Xvfb, unless one is set."""
        if os.environ.get("DISPLAY"):
            return
        read, write = os.pipe()
        self.xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0",
                                      "1024x768x24"], pass_fds=(write,), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as fh:
            number = fh.readline().strip()
        if not number:
            raise Skip("Xvfb did not start")
        self.env["DISPLAY"] = f":{number}"

    def boot(self) -> None:
        self.start_display()
        fresh = not (self.prefix / "system.reg").exists()
        if fresh:
            started = time.monotonic()
            self.prefix.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(["wineboot", "-i"], env=self.env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            # The registry files are written when the server exits: wait for that.
            subprocess.run(["wineserver", "-w"], env=self.env, check=False)
            if done.returncode != 0 or not (self.prefix / "system.reg").exists():
                shutil.rmtree(self.prefix, ignore_errors=True)
                raise Skip(f"wineboot could not make a Wine prefix (exit code {done.returncode})")
            print(f"made the Wine prefix (wineboot) in {time.monotonic() - started:.0f} s", flush=True)
        # One server for the whole run instead of one per program.
        subprocess.Popen(["wineserver", "-p"], env=self.env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL).wait()
        # The installer needs Windows 10 (MinVersion); a new prefix may say Windows 7.
        self.run("winecfg", "/v", "win10")

    def stop(self) -> None:
        if shutil.which("wineserver"):
            subprocess.run(["wineserver", "-k"], env=self.env, capture_output=True, check=False)
        if self.xvfb is not None:
            self.xvfb.terminate()
            self.xvfb.wait(10)

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        # Output through files, not pipes: Wine's own helpers (services.exe, explorer.exe) outlive
        # the program under the persistent server and would hold a pipe open for ever.
        with tempfile.TemporaryFile("w+", errors="replace") as out, \
                tempfile.TemporaryFile("w+", errors="replace") as err:
            done = subprocess.run(["wine", *args], env=self.env, cwd=cwd, stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=err, timeout=timeout, check=False)
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(done.args, done.returncode, out.read(), err.read())

    def user_dir(self) -> Path:
        users = self.prefix / "drive_c" / "users"
        mine = users / getpass.getuser()
        if mine.is_dir():
            return mine
        others = [p for p in users.iterdir() if p.is_dir() and p.name != "Public"]
        if not others:
            raise Skip("the Wine prefix has no user profile")
        return others[0]

    def registry(self, key: str) -> dict[str, dict[str, str]]:
        """String values under ``key`` (one regedit export): {subkey path: {name ('' = default): data}}."""
        out = self.prefix / "drive_c" / "afas-tray-check-export.reg"
        out.unlink(missing_ok=True)
        self.run("regedit", "/E", "C:\\afas-tray-check-export.reg", key)
        if not out.exists():
            return {}
        raw = out.read_bytes()
        text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8", "replace")
        values: dict[str, dict[str, str]] = {}
        current: dict[str, str] | None = None
        pair = re.compile(r'^(@|"((?:[^"\\]|\\.)*)")="((?:[^"\\]|\\.)*)"$')
        for line in text.splitlines():
            if line.startswith("[") and line.endswith("]"):
                current = values.setdefault(line[1:-1].upper(), {})
                continue
            match = pair.match(line)
            if match and current is not None:
                name = "" if match.group(1) == "@" else unescape(match.group(2))
                current[name] = unescape(match.group(3))
        return values

    def forget(self) -> None:
        """Remove what an earlier run left in the registry (the prefix is reused)."""
        reg = self.prefix / "drive_c" / "afas-tray-check-clean.reg"
        reg.write_text("\r\n".join([
            "REGEDIT4", "",
            *(f"[-{CLASSES}\\{scheme}]" for scheme in SCHEMES), f"[-{UNINSTALL_KEY}]", "",
            *(f"[-{CLASSES}\\{prog_id}]" for prog_id in PROG_IDS), f"[-{APP_KEY}]", "",
            f"[{RUN_KEY}]", f'"{APP_NAME}"=-', "",
            f"[{REGISTERED_APPS}]", f'"{APP_NAME}"=-', f'"{OTHER_APP}"=-', "",
        ]), encoding="ascii")
        self.run("regedit", "/S", "C:\\afas-tray-check-clean.reg")

    def set_run_value(self, data: str) -> None:
        self.run("reg", "add", RUN_KEY, "/v", APP_NAME, "/t", "REG_SZ", "/d", data, "/f")

    def delete_run_value(self) -> None:
        self.run("reg", "delete", RUN_KEY, "/v", APP_NAME, "/f")


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def custom_messages(name: str) -> set[str]:
    """One [CustomMessages] entry of afas-tray.iss in each language, {#AppName} filled in."""
    text = ISS.read_text(encoding="utf-8")
    return {found.strip().replace("{#AppName}", APP_NAME)
            for found in re.findall(rf"^\w+\.{re.escape(name)}=(.*)$", text, re.MULTILINE)}


def one_of(found: str | None, allowed: set[str]) -> str:
    """``found`` when it is one of ``allowed``, else what was wanted (so a dict compare fails)."""
    return found if found is not None and found in allowed else " or ".join(sorted(map(repr, allowed)))


# --- the checks ----------------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.failed = 0
        self.passed = 0

    def check(self, label: str, ok: bool, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok    {label}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL  {label}" + (f": {detail}" if detail else ""), flush=True)
        return ok


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the work folder (setups, logs) for a look")
    args = parser.parse_args(argv)
    started = time.monotonic()
    cache = Path(tempfile.gettempdir()) / "afas-tray-check-installer"
    wine = Wine(cache / "wineprefix")
    try:
        ensure_wine()
        iscc = ensure_iscc(cache)
        wine.boot()
    except Skip as why:
        wine.stop()
        print(f"skip: {why} (the Windows installer is not checked here)", flush=True)
        return 0
    ready = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="afas-tray-installer-"))
    report = Report()
    try:
        run_checks(wine, iscc, work, report)
    except Skip as why:
        print(f"skip: {why} (the Windows installer is not checked here)", flush=True)
        return 0
    except subprocess.TimeoutExpired as exc:
        # Setup waiting for an answer (a message box that /SUPPRESSMSGBOXES did not cover) hangs.
        report.check(f"{' '.join(map(str, exc.cmd))} finishes", False, f"still running after {exc.timeout:.0f} s")
    finally:
        wine.stop()
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    end = time.monotonic()
    print(f"{report.passed} passed, {report.failed} failed; {end - started:.0f} s "
          f"(Wine and compiler ready in {ready - started:.0f} s, checks {end - ready:.0f} s)", flush=True)
    return 1 if report.failed else 0


def run_checks(wine: Wine, iscc: Path, work: Path, report: Report) -> None:
    build = load_build()
    user = wine.user_dir()
    local = user / "AppData" / "Local"
    app = local / "Programs" / APP_NAME
    app_win = f"C:\\users\\{user.name}\\AppData\\Local\\Programs\\{APP_NAME}"
    data = local / "afas-tray"
    cli_log = local / "afas-tray-check" / "cli.log"
    shortcut = user / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Start Menu" / "Programs" / f"{APP_NAME}.lnk"

    # A clean slate in the reused prefix.
    wine.forget()
    for leftover in (app, data, cli_log.parent):
        shutil.rmtree(leftover, ignore_errors=True)
    shortcut.unlink(missing_ok=True)

    # The stand-in bundle, one per version: a marker in _internal shows a stale one is replaced.
    icon = work / "afas-tray.ico"
    icon.write_bytes(tiny_ico())
    setups: dict[str, Path] = {}
    for ver in (PRE, REL):
        bundle = work / f"bundle-{ver}"
        (bundle / "_internal").mkdir(parents=True)
        (bundle / "afas-tray.exe").write_text("stand-in: never started by a silent install\n")
        (bundle / "afas-tray-cli.cmd").write_text(STAND_IN_CLI.replace("\n", "\r\n"), newline="")
        (bundle / "_internal" / f"built-{ver}.txt").write_text(ver)
        out = work / f"setup-{ver}"
        defines = build.inno_defines(ver, win(bundle), win(icon))
        done = wine.run(win(iscc), *defines, "/DCliExe=afas-tray-cli.cmd",
                        f"/DInstallDir={{localappdata}}\\Programs\\{APP_NAME}", f"/O{win(out)}", win(ISS),
                        timeout=300)
        if "Inno Setup 6 Command-Line Compiler" not in done.stdout:
            raise Skip(f"ISCC.exe does not start under Wine (exit code {done.returncode}): "
                       f"{(done.stderr.strip().splitlines() or ['no message'])[-1]}")
        setup = out / f"afas-tray-{ver}-setup.exe"
        warnings = [line.strip() for line in done.stdout.splitlines() if line.lstrip().lower().startswith("warning")]
        errors = [line.strip() for line in (done.stdout + done.stderr).splitlines() if "error" in line.lower()]
        report.check(f"compiles {ver} with build.py's defines, no warnings",
                     done.returncode == 0 and setup.exists() and not warnings,
                     "; ".join(warnings or errors[-3:] or [f"exit code {done.returncode}"]))
        if not setup.exists():
            return  # nothing to run; the FAIL above says why
        setups[ver] = setup
        numeric = build.numeric_version(ver)
        texts, fixed = version_resource(setup.read_bytes())
        report.check(f"{setup.name}: version resource: ProductVersion text {ver}, numeric {numeric}",
                     texts.get("ProductVersion") == ver and fixed == (numeric + ".0.0.0").split(".")[:4]
                     and len(fixed) == 4, f"{texts}, fixed {fixed}")

    # Presets: one beside the pre-release's setup, one in a sub-folder of the release's setup.
    beside = setups[PRE].parent / "afas-tray-settings.json"
    beside.write_text(json.dumps({"afas": {"host": "beside.example"}}))
    (setups[REL].parent / "presets").mkdir()
    relative = setups[REL].parent / "presets" / "site.json"
    relative.write_text(json.dumps({"afas": {"host": "relative.example"}}))
    elsewhere = work / "elsewhere"  # the caller's current folder: not where the setup is
    elsewhere.mkdir()

    def install(ver: str, *extra: str, name: str) -> subprocess.CompletedProcess[str]:
        log = work / f"{name}.log"
        cli_log.unlink(missing_ok=True)
        done = wine.run(win(setups[ver]), "/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART",
                        f"/LOG={win(log)}", *extra, cwd=elsewhere)
        report.check(f"{name}: silent setup {ver} {' '.join(extra)}".rstrip() + " exits 0",
                     done.returncode == 0, f"exit code {done.returncode}; see {log.name}")
        return done

    def uninstall(*extra: str, name: str) -> None:
        cli_log.unlink(missing_ok=True)
        wine.run(f"{app_win}\\unins000.exe", "/VERYSILENT", "/SUPPRESSMSGBOXES", *extra, cwd=elsewhere)
        # The uninstaller hands over to a copy of itself in %TEMP% and returns at once.
        report.check(f"{name}: silent uninstall {' '.join(extra)}".rstrip() + " removes the program folder",
                     wait_for(lambda: not app.exists(), 60),
                     f"left: {sorted(p.name for p in app.iterdir()) if app.exists() else []}")
        reg = wine.registry(r"HKEY_CURRENT_USER\Software")
        report.check(f"{name}: URL scheme keys, Run value and uninstall key removed",
                     not any(f"{CLASSES}\\{scheme}".upper() in reg for scheme in SCHEMES)
                     and APP_NAME not in reg.get(RUN_KEY.upper(), {})
                     and UNINSTALL_KEY.upper() not in reg)
        app_keys = (APP_KEY, *(f"{CLASSES}\\{prog_id}" for prog_id in PROG_IDS))
        left = [k for k in reg if any(k == a.upper() or k.startswith(a.upper() + "\\") for a in app_keys)]
        registered = reg.get(REGISTERED_APPS.upper(), {})
        left += [f"RegisteredApplications: {APP_NAME}"] if APP_NAME in registered else []
        report.check(f"{name}: tel:/callto: registration removed (RegisteredApplications value, "
                     f"Software\\{APP_NAME}, {', '.join(PROG_IDS)}), {OTHER_APP}'s value kept",
                     not left and OTHER_APP in registered, f"left: {left}; {OTHER_APP} kept: {OTHER_APP in registered}")
        report.check(f"{name}: Start-menu shortcut removed", not shortcut.exists())

    def cli_calls() -> list[str]:
        return cli_log.read_text(errors="replace").splitlines() if cli_log.exists() else []

    def run_value() -> str | None:
        return wine.registry(RUN_KEY).get(RUN_KEY.upper(), {}).get(APP_NAME)

    def settings_host() -> str | None:
        try:
            return str(json.loads((data / "settings.json").read_text())["afas"]["host"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    exe = f'"{app_win}\\afas-tray.exe"'
    # What the app's own "Start at login" switch writes (afas_tray/system/autostart.py).
    sys.path.insert(0, str(ROOT))
    from afas_tray.system.autostart import windows_run_value
    switch_value = windows_run_value([f"{app_win}\\afas-tray.exe"])

    def phone_links(reg: dict[str, dict[str, str]]) -> dict[str, tuple[dict[str, str | None], dict[str, str]]]:
        """The tel:/callto: registration in a registry export: {check line: (found, wanted)}."""
        caps = reg.get(CAPABILITIES.upper(), {})
        found: dict[str, str | None] = {"registered": reg.get(REGISTERED_APPS.upper(), {}).get(APP_NAME),
                                        **{k: caps.get(f"Application{k.title()}") for k in ("name", "description", "icon")}}
        lines = {f"RegisteredApplications -> Software\\{APP_NAME}\\Capabilities (name, description, icon)": (
            found, {"registered": CAPABILITIES.split("\\", 1)[1], "name": APP_NAME, "icon": f"{exe},0",
                    "description": one_of(found["description"], custom_messages("PhoneLinkDescription"))})}
        associations = reg.get(f"{CAPABILITIES}\\URLAssociations".upper(), {})
        for scheme, prog_id in LINK_SCHEMES.items():
            lines[f"{scheme}: in Capabilities\\URLAssociations -> {prog_id}"] = (
                {"ProgID": associations.get(scheme)}, {"ProgID": prog_id})
        for prog_id, message in PROG_IDS.items():
            key = f"{CLASSES}\\{prog_id}"
            got = {k: reg.get(f"{key}{sub}".upper(), {}).get(n) for k, sub, n in (
                ("name", "", ""), ("protocol", "", "URL Protocol"), ("icon", r"\DefaultIcon", ""),
                ("open", r"\shell\open\command", ""))}
            lines[f'{prog_id}: under HKCU\\Software\\Classes, opens "{{app}}\\afas-tray.exe" "%1"'] = (got, {
                "name": one_of(got["name"], custom_messages(message)), "protocol": "", "icon": f"{exe},0",
                "open": f'{exe} "%1"'})
        return lines

    def phone_links_kept(name: str) -> None:
        lines = phone_links(wine.registry(r"HKEY_CURRENT_USER\Software"))
        wrong = {label: got for label, (got, want) in lines.items() if got != want}
        report.check(f"{name}: tel:/callto: registration kept ({len(lines)} parts)", not wrong, f"{wrong}")

    # 1. First install, default task, the preset beside the setup; another dialer is registered.
    wine.run("reg", "add", REGISTERED_APPS, "/v", OTHER_APP, "/t", "REG_SZ",
             "/d", f"Software\\{OTHER_APP}\\Capabilities", "/f")
    install(PRE, name="install")
    report.check("install: program files in place", all((app / f).exists() for f in (
        "afas-tray.exe", "afas-tray-cli.cmd", f"_internal/built-{PRE}.txt", "unins000.exe")))
    report.check("install: Start-menu shortcut", shortcut.exists())
    reg = wine.registry(r"HKEY_CURRENT_USER\Software")
    for name, description in SCHEMES.items():
        key = f"{CLASSES}\\{name}"
        scheme = {k: reg.get(f"{key}{sub}".upper(), {}).get(n) for k, sub, n in (
            ("name", "", ""), ("protocol", "", "URL Protocol"), ("icon", r"\DefaultIcon", ""),
            ("open", r"\shell\open\command", ""))}
        want = {"name": description, "protocol": "", "icon": f"{exe},0", "open": f'{exe} "%1"'}
        report.check(f"install: {name}: registered under HKCU\\Software\\Classes", scheme == want, f"{scheme}")
    for label, (got, want) in phone_links(reg).items():
        report.check(f"install: {label}", got == want, f"found {got}, wanted {want}")
    report.check("install: start-at-login task writes the Run value",
                 reg.get(RUN_KEY.upper(), {}).get(APP_NAME) == exe == switch_value,
                 f"{reg.get(RUN_KEY.upper(), {}).get(APP_NAME)!r}, the app's switch writes {switch_value!r}")
    uninst = reg.get(UNINSTALL_KEY.upper(), {})
    report.check(f"install: uninstall key (DisplayName, DisplayVersion {PRE}, UninstallString)",
                 uninst.get("DisplayName") == APP_NAME and uninst.get("DisplayVersion") == PRE
                 and "unins000.exe" in uninst.get("UninstallString", ""), f"{uninst}")
    calls = cli_calls()
    report.check("install: afas-tray-settings.json beside the setup is imported",
                 calls == [f'config import "{win(beside)}"'] and settings_host() == "beside.example", f"{calls}")

    # 2. The user switches start-at-login off in the app; an upgrade with a relative /PRESET.
    wine.delete_run_value()
    install(REL, "/PRESET=presets\\site.json", name="upgrade")
    report.check("upgrade: Run value stays off as the app's switch left it", run_value() is None,
                 f"{run_value()!r}")
    calls = cli_calls()
    report.check("upgrade: relative /PRESET= read from the setup's own folder",
                 calls == [f'config import "{win(relative)}"'] and settings_host() == "relative.example",
                 f"{calls}")
    report.check("upgrade: stale bundle files replaced",
                 (app / "_internal" / f"built-{REL}.txt").exists()
                 and not (app / "_internal" / f"built-{PRE}.txt").exists())
    report.check(f"upgrade: uninstall key shows {REL}",
                 wine.registry(UNINSTALL_KEY).get(UNINSTALL_KEY.upper(), {}).get("DisplayVersion") == REL)
    phone_links_kept("upgrade")

    # 3. Uninstall, settings kept.
    uninstall(name="uninstall")
    report.check("uninstall: settings kept without /PURGE, secrets not cleared",
                 settings_host() == "relative.example" and cli_calls() == [], f"{cli_calls()}")

    # 4. First install without the task, a preset that fails; then the app's switch turns it on.
    done = install(PRE, "/MERGETASKS=!autostart", "/PRESET=missing.json", name="install-no-task")
    log = (work / "install-no-task.log").read_text(errors="replace") if (work / "install-no-task.log").exists() else ""
    report.check("install-no-task: a failing preset is logged, the install completes",
                 "Preset not applied (exit code 3)" in log and (app / "afas-tray.exe").exists(),
                 f"setup exit code {done.returncode}")
    report.check("install-no-task: no Run value", run_value() is None, f"{run_value()!r}")
    wine.set_run_value(switch_value)
    install(REL, "/MERGETASKS=!autostart", name="upgrade-no-task")  # IT's same command line again
    report.check("upgrade-no-task: the Run value the app's switch wrote survives",
                 run_value() == switch_value, f"{run_value()!r}")
    phone_links_kept("upgrade-no-task")

    # 5. Uninstall with /PURGE.
    uninstall("/PURGE", name="purge")
    calls = cli_calls()
    report.check("purge: settings folder removed", not data.exists())
    report.check("purge: secrets cleared through the CLI first",
                 calls == ['config set afas.token ""', 'config set xelion.password ""',
                           'config set trigger.secret ""'], f"{calls}")


if __name__ == "__main__":
    raise SystemExit(main())
