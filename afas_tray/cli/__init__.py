"""The command line: ``afas-tray`` and its subcommands (kept free of Qt imports at module
level, so ``afas-tray call`` starts fast). The entry point is ``afas_tray.cli.main:main``."""
