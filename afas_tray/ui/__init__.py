"""Qt layer: the only package (with app.py) that imports PySide6 widgets."""
