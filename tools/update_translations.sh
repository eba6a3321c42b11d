#!/bin/sh
# Refresh the Dutch Qt Linguist catalogue from the source strings, then compile it.
#   tools/update_translations.sh          (uses ./.venv; set VENV=... for another venv)
# New strings appear in resources/i18n/afas_tray_nl.ts as "unfinished": translate them
# (pyside6-linguist, or edit the XML) and run this again. tests/ui/test_translations.py fails
# while any string is untranslated.
set -eu
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
TS=resources/i18n/afas_tray_nl.ts
SOURCES=$(ls afas_tray/ui/*.py afas_tray/ui/*/*.py afas_tray/app.py 2>/dev/null || true)
# shellcheck disable=SC2086  # word splitting of the file list is intended
"$BIN/pyside6-lupdate" -no-obsolete -locations none -source-language en -target-language nl \
    $SOURCES -ts "$TS"
"$BIN/pyside6-lrelease" -silent "$TS" -qm afas_tray/resources/i18n/afas_tray_nl.qm
