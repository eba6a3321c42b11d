"""Build the one-dir bundle (and, with --installer, the platform installer) in one command.

    python packaging/build.py               # dist/afas-tray/ (macOS: also dist/AFAS Tray.app)
    python packaging/build.py --installer   # + Windows setup .exe (Inno Setup) / macOS .dmg

Needs the `package` extra: ``pip install -e '.[package]'``. Prints the bundle's size at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
BUNDLE = DIST / "afas-tray"
APP = DIST / "AFAS Tray.app"


def version() -> str:
    text = (ROOT / "afas_tray" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    if match is None:
        raise SystemExit("no __version__ in afas_tray/__init__.py")
    return match.group(1)


def numeric_version(ver: str) -> str:
    """Digits-only form for Windows version resources: 0.2.0rc1 -> 0.2.0."""
    return re.sub(r"[^0-9.].*$", "", ver).strip(".") or "0"


def tree_size(path: Path) -> tuple[int, int, int]:
    """(bytes on disk, apparent bytes, files) of a folder; symlinks count as themselves."""
    on_disk = apparent = files = 0
    for dirpath, _dirs, names in os.walk(path):
        for name in names:
            st = os.lstat(os.path.join(dirpath, name))
            files += 1
            apparent += st.st_size
            # st_blocks is what `du` counts; Windows has none, so the file size stands in.
            on_disk += st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
    return on_disk, apparent, files


def describe_size(path: Path) -> str:
    on_disk, apparent, files = tree_size(path)
    return f"{on_disk / 1e6:.1f} MB on disk ({apparent / 1e6:.1f} MB in {files} files)"


def run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def build_bundle(clean: bool) -> Path:
    run([sys.executable, str(PACKAGING / "icons.py"), str(ROOT / "build" / "icons")])
    cmd = [sys.executable, "-m", "PyInstaller", str(PACKAGING / "afas_tray.spec"), "--noconfirm",
           "--distpath", str(DIST), "--workpath", str(WORK), "--log-level", "WARN"]
    if clean:
        cmd.append("--clean")
    run(cmd, cwd=ROOT)
    return APP if sys.platform == "darwin" else BUNDLE


def find_iscc() -> str | None:
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return found
    for env in ("ProgramFiles(x86)", "ProgramFiles"):
        base = os.environ.get(env)
        for name in ("Inno Setup 6", "Inno Setup 7"):
            candidate = Path(base or "") / name / "ISCC.exe"
            if base and candidate.exists():
                return str(candidate)
    return None


def inno_defines(ver: str, source_dir: str, icon_file: str) -> list[str]:
    """ISCC's /D options for afas-tray.iss (also used by windows/check_installer.py under Wine).

    Windows version resources take digits only: NumericVersion feeds VersionInfoVersion and
    VersionInfoProductVersion, AppVersion (0.2.0rc1) the text versions and the file name.
    """
    return [f"/DAppVersion={ver}", f"/DNumericVersion={numeric_version(ver)}",
            f"/DSourceDir={source_dir}", f"/DIconFile={icon_file}"]


def build_installer() -> Path:
    ver = version()
    if sys.platform == "win32":
        iscc = find_iscc()
        if iscc is None:
            raise SystemExit("Inno Setup's ISCC.exe not found (choco install innosetup)")
        run([iscc, *inno_defines(ver, str(BUNDLE), str(ROOT / "build" / "icons" / "afas-tray.ico")),
             f"/O{DIST}", str(PACKAGING / "windows" / "afas-tray.iss")])
        return DIST / f"afas-tray-{ver}-setup.exe"
    if sys.platform == "darwin":
        run(["bash", str(PACKAGING / "macos" / "sign_and_notarize.sh"), str(APP)])
        dmg = DIST / f"afas-tray-{ver}.dmg"
        run(["bash", str(PACKAGING / "macos" / "build_dmg.sh"), str(APP), str(dmg)])
        return dmg
    # Linux: the folder itself is what ships; a tarball keeps permissions and symlinks.
    archive = shutil.make_archive(str(DIST / f"afas-tray-{ver}-linux-x86_64"), "gztar",
                                  root_dir=DIST, base_dir=BUNDLE.name)
    return Path(archive)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--installer", action="store_true", help="also build the platform installer")
    parser.add_argument("--clean", action="store_true", help="rebuild from scratch")
    args = parser.parse_args(argv)
    started = time.monotonic()
    bundle = build_bundle(args.clean)
    print(f"bundle: {bundle.relative_to(ROOT)}: {describe_size(bundle)}; built in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    if args.installer:
        installer = build_installer()
        print(f"installer: {installer.relative_to(ROOT)}: {installer.stat().st_size / 1e6:.1f} MB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
