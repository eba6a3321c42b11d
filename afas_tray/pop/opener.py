"""Where the CallRouter's decisions end up: a browser, a picker, a notice.

The tray installs a Qt opener (afas_tray/ui/); ``WebbrowserOpener`` is the fallback for platforms
where Qt cannot open URLs and for the command line; ``RecordingOpener`` is the sink for tests and
benchmarks. No Qt here.
"""

from __future__ import annotations

import logging
import threading
import time
import webbrowser
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from afas_tray.pop.router import Choice, UnknownCaller

log = logging.getLogger(__name__)


class Opener(Protocol):
    def open_url(self, url: str) -> None:
        """Open one InSite card (or search page) in the default browser."""

    def choose(self, decision: Choice) -> object:
        """Several distinct relations match: let the user pick (or take the default)."""

    def unknown_caller(self, notice: UnknownCaller) -> object:
        """No relation matches: tell the user, offer search / copy number."""


class WebbrowserOpener:
    """Python's ``webbrowser`` (honours ``$BROWSER``), used where Qt cannot open URLs.

    ``webbrowser`` may wait for the browser command to exit (a ``$BROWSER`` command, or a browser
    that was not running yet), so by default each open runs in a daemon thread: the ringing call's
    hot path never waits for a browser.
    """

    def __init__(
        self, *, background: bool = True, controller: webbrowser.BaseBrowser | None = None
    ) -> None:
        self._background = background
        self._controller = controller

    def open_url(self, url: str) -> None:
        if self._background:
            threading.Thread(target=self._open, args=(url,), name="webbrowser", daemon=True).start()
        else:
            self._open(url)

    def choose(self, decision: Choice) -> None:
        # No picker without a UI: the default is the remembered choice or the best-ranked one.
        self.open_url(decision.default.url)

    def unknown_caller(self, notice: UnknownCaller) -> None:
        if notice.search_url:
            self.open_url(notice.search_url)
        else:
            log.info("Unknown caller %s: no relation in the phone book", notice.normalised)

    def _open(self, url: str) -> None:
        try:
            ok = (self._controller or webbrowser).open(url, new=2)
        except webbrowser.Error as exc:
            log.warning("Could not open the browser: %s", exc)
            return
        if not ok:
            log.warning("The browser did not accept the URL")


OpenerCallKind = Literal["open_url", "choose", "unknown_caller"]


@dataclass(frozen=True)
class OpenerCall:
    kind: OpenerCallKind
    value: str | Choice | UnknownCaller
    at: float  # time.perf_counter() when the opener was called (benchmarks measure up to here)


class RecordingOpener:
    """Records every call in order. Thread-safe; tests and benchmarks wait on it."""

    def __init__(self) -> None:
        self.calls: list[OpenerCall] = []
        self._cond = threading.Condition()

    def open_url(self, url: str) -> None:
        self._add("open_url", url)

    def choose(self, decision: Choice) -> None:
        self._add("choose", decision)

    def unknown_caller(self, notice: UnknownCaller) -> None:
        self._add("unknown_caller", notice)

    @property
    def urls(self) -> list[str]:
        return [c.value for c in self.calls if isinstance(c.value, str)]

    @property
    def choices(self) -> list[Choice]:
        from afas_tray.pop.router import Choice

        return [c.value for c in self.calls if isinstance(c.value, Choice)]

    @property
    def unknown(self) -> list[UnknownCaller]:
        from afas_tray.pop.router import UnknownCaller

        return [c.value for c in self.calls if isinstance(c.value, UnknownCaller)]

    def clear(self) -> None:
        with self._cond:
            self.calls.clear()

    def wait(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` calls were recorded; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.calls) >= count, timeout)

    def _add(self, kind: OpenerCallKind, value: str | Choice | UnknownCaller) -> None:
        call = OpenerCall(kind, value, time.perf_counter())
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
