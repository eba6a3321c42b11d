"""The local phone book: numbers, column detection, the SQLite book, the sync engine, search, and
the push into Xelion's address book."""
