"""Settings: the typed model, dotted keys for the command line, validation, the JSON file."""
