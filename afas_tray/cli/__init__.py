"""The command line: ``afas-tray`` and its subcommands (kept free of Qt imports)."""

from afas_tray.cli.main import main

__all__ = ["main"]
