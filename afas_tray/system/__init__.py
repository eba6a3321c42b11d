"""The operating system's side: folders, profile, secrets, logs, autostart, wake-up, the
single-instance client, link handlers, the global hotkey."""
