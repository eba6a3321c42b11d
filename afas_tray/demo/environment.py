"""`afas-tray --demo`: simulated AFAS and Xelion in-process, demo settings, throw-away profile."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass, field

from afas_tray.config import Settings
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.afas import SimulatorThread as AfasThread
from afas_tray.demo.sample_data import KNOWN
from afas_tray.demo.xelion import SimulatorThread as XelionThread
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.system.paths import HOME_ENV

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"  # the simulator's own, not a secret
DEMO_DOSSIER_TYPE = 7


@dataclass
class DemoEnvironment:
    relations: int = 2000
    home: str = ""
    afas: AfasThread | None = None
    xelion: XelionThread | None = None
    _numbers: itertools.cycle[str] = field(init=False)

    def __post_init__(self) -> None:
        order = ["org_unique", "org_main_on_contacts", "shared_two_orgs", "contact_direct",
                 "person_mobile", "no_match"]
        self._numbers = itertools.cycle([KNOWN[k].written[0] for k in order if k in KNOWN])

    def start(self) -> Settings:
        """Start both simulators (each on its own thread) and point a fresh profile at them."""
        self.home = tempfile.mkdtemp(prefix="afas-tray-demo-")
        os.environ[HOME_ENV] = self.home
        os.environ["AFAS_TRAY_SECRETS"] = "file"  # demo secrets never reach the real keychain
        afas_sim = AfasSimulator(relations=self.relations, seed=1)
        self.afas = AfasThread(afas_sim)
        afas_url = self.afas.start()
        self.xelion = XelionThread(XelionSimulator({DEMO_USER: DEMO_PASSWORD}, tenant="demo"))
        xelion_url = self.xelion.start()
        s = Settings()
        s.afas.host = afas_url
        s.afas.token = afas_sim.token
        s.afas.insite_url_template = f"{afas_url}/insite/verkooprelatie-prs?BcId=<BCID>"
        s.afas.dossier_item_type = DEMO_DOSSIER_TYPE
        s.afas.sync_mp3 = True
        s.xelion.host = xelion_url
        s.xelion.tenant = "demo"
        s.xelion.username = DEMO_USER
        s.xelion.password = DEMO_PASSWORD
        s.xelion.user_space = "afas-tray-demo"
        # The demo shows what the hosted koppeling does: relations appear in Xelion's address book.
        s.xelion.addressbook_sync = True
        s.dial.device_number = "+31612345678"  # the demo operator's phone, rung first on dial
        return s

    def simulate_call(self) -> str:
        """Ring the next sample number on the simulated Xelion; it reaches us over the websocket."""
        number = next(self._numbers)
        if self.xelion is not None:
            self.xelion.call(self.xelion.sim.ring, number)
        return number

    def simulate_missed_call(self) -> str:
        """The next sample number rings out unanswered: a missedCallEvent reaches us."""
        number = next(self._numbers)
        if self.xelion is not None:
            self.xelion.call(self.xelion.sim.dial.missed_call, number)
        return number

    def stop(self) -> None:
        for sim in (self.xelion, self.afas):
            if sim is not None:
                sim.stop()
        if self.home:
            shutil.rmtree(self.home, ignore_errors=True)
