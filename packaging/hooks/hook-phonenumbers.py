# Replaces the contributed phonenumbers hook, which collects every submodule including the
# geocoder, carrier and time-zone tables (~45 MB). afas_tray.numbers only parses, validates and
# formats: it needs the region metadata (loaded lazily by module name) and the short-number data.
# ruff: noqa
from PyInstaller.utils.hooks import collect_submodules

hiddenimports = collect_submodules("phonenumbers.data") + collect_submodules("phonenumbers.shortdata")
