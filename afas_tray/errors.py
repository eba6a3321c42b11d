"""The one base of the app's errors: each carries the user's text in both languages.

``text`` is what a notice, the settings dialog or the CLI shows (``str(exc)`` stays English, for
the log); ``needs_user`` tells whether retrying by itself cannot help until someone changes a
setting, an account or the input.
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing (mypy knows the name): the call hand-off
# imports this module and must stay light.
TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only
    from afas_tray.i18n import Text


class AppError(Exception):
    """Base class: ``text`` is for the user, ``str(exc)`` (English) for the log."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.en)
        self.text = text

    @property
    def needs_user(self) -> bool:
        """True when retrying cannot help until someone changes a setting, an account or the
        input; False for what may pass by itself (a timeout, maintenance)."""
        return False
