"""The partner directory: the other parties' service desks and help desks (CPSD 7.1, Ops Manual 3.11, 18.4 and
Appendix H), loaded from ``config/partners.yaml`` and checked with every problem named by ``file:line``.

:mod:`.model` is a party (channel, value maps, what closes, cancels or answers "not ours", how it raises a case
to Elexon, the services and categories it covers); :mod:`.hours` its hours of cover and the response clock;
:mod:`.load` reads the file and reloads it without a restart.

    directory = load_partners("config/partners.yaml")
    directory["dcc"].clock.in_hours(datetime.now(UTC))
"""

from __future__ import annotations

from bridge.partners.hours import CORE_HOURS, DAYS, DEFAULT_DAYS, Hours, OutOfHours
from bridge.partners.load import LiveDirectory, load_partners
from bridge.partners.model import OUR_STATES, Closure, Directory, Inbound, NotOurs, Partner, ValueMap

__all__ = [
    "CORE_HOURS",
    "DAYS",
    "DEFAULT_DAYS",
    "OUR_STATES",
    "Closure",
    "Directory",
    "Hours",
    "Inbound",
    "LiveDirectory",
    "NotOurs",
    "OutOfHours",
    "Partner",
    "ValueMap",
    "load_partners",
]
