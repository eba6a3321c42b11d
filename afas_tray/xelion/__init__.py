"""Xelion REST and websocket client."""
