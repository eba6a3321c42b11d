"""AFAS Tray: caller pop and call logging for Xelion telephony and AFAS Profit."""

__version__ = "0.1.0"
APP_NAME = "AFAS Tray"
APP_ID = "afas-tray"
