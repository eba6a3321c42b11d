"""A user's profile: folders, settings JSON and secrets, loaded and saved together."""

from __future__ import annotations

from dataclasses import dataclass, field

from afas_tray.config import settings as settings_mod
from afas_tray.config.settings import LoadResult, Settings
from afas_tray.system import logs
from afas_tray.system.paths import AppPaths, app_paths
from afas_tray.system.secrets import SecretStore, load_into, save_from


@dataclass
class Profile:
    paths: AppPaths
    secrets: SecretStore = field(init=False)

    def __post_init__(self) -> None:
        self.secrets = SecretStore(self.paths)

    @classmethod
    def open(cls) -> Profile:
        return cls(app_paths().ensure())

    def load(self) -> LoadResult:
        result = settings_mod.load(self.paths)
        load_into(self.secrets, result.settings)
        for secret in (result.settings.afas.token, result.settings.xelion.password,
                       result.settings.trigger.secret):
            logs.register_secret(secret)
        return result

    def save(self, settings: Settings) -> None:
        save_from(self.secrets, settings)
        settings_mod.save(self.paths, settings)
        for secret in (settings.afas.token, settings.xelion.password, settings.trigger.secret):
            logs.register_secret(secret)
