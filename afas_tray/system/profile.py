"""A user's profile: folders, settings JSON and secrets, loaded and saved together."""

from __future__ import annotations

from dataclasses import dataclass, field

from afas_tray import config
from afas_tray.config import SECRET_KEYS, LoadResult, Settings, get_value
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
        result = config.load(self.paths)
        load_into(self.secrets, result.settings)
        for key in SECRET_KEYS:
            logs.register_secret(get_value(result.settings, key))
        return result

    def save(self, settings: Settings) -> None:
        save_from(self.secrets, settings)
        config.save(self.paths, settings)
        for key in SECRET_KEYS:
            logs.register_secret(get_value(settings, key))
