"""The GUI sample app: a PySide6 window that reports the environment it runs in."""

__version__ = "0.1.0"
