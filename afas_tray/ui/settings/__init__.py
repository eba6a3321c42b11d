"""The settings dialog: one module per tab, ``dialog`` holds them together."""

from afas_tray.ui.settings.dialog import SettingsDialog

__all__ = ["SettingsDialog"]
