"""Qt translations: load the compiled Dutch catalogue (and Qt's own) and keep the core in step.

Source strings in the code are English; the repository's top-level ``resources/i18n/afas_tray_nl.ts``
holds the Dutch, compiled to the package's ``.qm`` by ``tools/update_translations.sh``. English needs no catalogue.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from afas_tray.i18n import Language, set_language, system_language

log = logging.getLogger(__name__)

I18N_DIR = Path(__file__).resolve().parent.parent / "resources" / "i18n"

# Installed translators must stay referenced, or Python frees them and Qt falls back to English.
_installed: list[QTranslator] = []


def resolve_language(language: str) -> Language:
    """``"nl"``/``"en"`` as given; anything else (``"system"``) follows the system language."""
    if language == "nl":
        return "nl"
    if language == "en":
        return "en"
    return system_language()


def catalogue_path(lang: Language) -> Path:
    return I18N_DIR / f"afas_tray_{lang}.qm"


def install_translator(app: QCoreApplication, language: str = "system") -> Language:
    """Switch the app (Qt widgets and core ``Text`` messages) to ``language``; returns nl or en.

    Widgets translate when they are built, so create dialogs after calling this.
    """
    lang = resolve_language(language)
    while _installed:
        app.removeTranslator(_installed.pop())
    set_language(lang)
    if lang == "nl":
        QLocale.setDefault(QLocale(QLocale.Language.Dutch, QLocale.Country.Netherlands))
        own = QTranslator(app)
        if own.load(str(catalogue_path("nl"))):
            app.installTranslator(own)
            _installed.append(own)
        else:
            log.warning("Dutch catalogue missing: %s", catalogue_path("nl").name)
        # Qt's own texts (context menus, standard dialogs) in Dutch too.
        qt_base = QTranslator(app)
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if qt_base.load("qtbase_nl", qt_dir):
            app.installTranslator(qt_base)
            _installed.append(qt_base)
    else:
        QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom))
    return lang
