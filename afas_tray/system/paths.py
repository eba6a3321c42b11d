"""Where config, data and logs live.

platformdirs' per-user folders by default; ``AFAS_TRAY_HOME=<dir>`` puts all three under one
folder (portable installs, tests, terminal-server profiles).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from afas_tray import APP_ID

HOME_ENV = "AFAS_TRAY_HOME"


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    log_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def database_file(self) -> Path:
        return self.data_dir / "afas-tray.sqlite3"

    @property
    def phonebook_file(self) -> Path:
        """The phone book apart from the rest: its long rebuilds never hold the lock that call
        records and the outbox write through."""
        return self.data_dir / "phonebook.sqlite3"

    @property
    def secrets_file(self) -> Path:
        """Fallback secret store, used only where no OS keychain exists (mode 0600)."""
        return self.data_dir / "secrets.json"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "afas-tray.log"

    def ensure(self) -> AppPaths:
        for d in (self.config_dir, self.data_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self


def app_paths(home: str | os.PathLike[str] | None = None) -> AppPaths:
    """Resolve the folders; ``home`` (or $AFAS_TRAY_HOME) overrides platformdirs."""
    root = home if home is not None else os.environ.get(HOME_ENV) or None
    if root:
        base = Path(root).expanduser().resolve()
        return AppPaths(base / "config", base / "data", base / "logs")
    return AppPaths(
        Path(platformdirs.user_config_dir(APP_ID, appauthor=False)),
        Path(platformdirs.user_data_dir(APP_ID, appauthor=False)),
        Path(platformdirs.user_log_dir(APP_ID, appauthor=False)),
    )
