"""Tell the core when the network comes back or changes (Wi-Fi to cable, VPN, new Wi-Fi).

Qt's QNetworkInformation asks the OS (Network List Manager on Windows, the system configuration
framework on macOS, NetworkManager or GLib on Linux). Where no backend loads, this does nothing:
the websocket heartbeat and the wake-up watch (``afas_tray.system.wakeup``) still recover, only slower.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer
from PySide6.QtNetwork import QNetworkInformation

log = logging.getLogger(__name__)

Reachability = QNetworkInformation.Reachability
_UP = {Reachability.Local, Reachability.Site, Reachability.Online}
# Changes come in bursts (disconnected, local, online within a second): reconnect once, after.
SETTLE_MS = 1000


class NetworkWatch(QObject):
    """Calls ``on_change()`` once the network is usable again or its medium changed.

    Going offline calls nothing: there is nothing to reconnect to yet.
    """

    def __init__(self, on_change: Callable[[], None], parent: QObject | None = None, *,
                 settle_ms: int = SETTLE_MS) -> None:
        super().__init__(parent)
        self._on_change = on_change
        self._reachability: Reachability | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(settle_ms)
        self._timer.timeout.connect(self._fire)
        self.backend = ""

    def start(self, info: QNetworkInformation | None = None) -> bool:
        """Load the OS backend and watch it; False (and no watching) when none is available.

        ``info`` is for tests: any object with QNetworkInformation's signals and getters.
        """
        if info is None:
            try:
                loaded = QNetworkInformation.loadDefaultBackend()
            except Exception:  # a broken backend plugin must not stop the app
                log.exception("network information backend failed to load")
                return False
            info = QNetworkInformation.instance() if loaded else None
            if info is None:
                log.info("no network information backend: network changes are not watched")
                return False
        self.backend = info.backendName()
        self._reachability = info.reachability()
        info.reachabilityChanged.connect(self._reachability_changed)
        info.transportMediumChanged.connect(self._medium_changed)
        log.info("watching network changes (%s)", self.backend)
        return True

    def _reachability_changed(self, reachability: Reachability) -> None:
        before, self._reachability = self._reachability, reachability
        if reachability not in _UP:
            self._timer.stop()  # went away again before settling: wait for it to come back
        elif before is not None and before != Reachability.Unknown \
                and reachability.value > before.value:
            # Better than before (offline -> online, local -> online). Unknown -> online is the
            # backend finding its feet at start, not a change worth a reconnect.
            self._timer.start()

    def _medium_changed(self, _medium: QNetworkInformation.TransportMedium) -> None:
        if self._reachability in _UP:
            self._timer.start()

    def _fire(self) -> None:
        log.info("network changed: reconnecting")
        try:
            self._on_change()
        except Exception:
            log.exception("network change callback failed")
