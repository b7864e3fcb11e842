"""The desk's own clocks and major-incident communications: the `service-desk` route kind.

- :mod:`.options`: the route's options (triage, states, calendar, the major-incident rules and cadence);
- :mod:`.clock`: the triage and resolution clocks as pure functions of a record's stored state;
- :mod:`.watch`: one ServiceNow change applied to a record's clocks, at ServiceNow's time;
- :mod:`.major`: major-incident declaration, cadence, escalation, resolution, PIR reminder, industry circular;
- :mod:`.messages`: the emails, work notes and public entry, from the sandboxed templates;
- :mod:`.flow`: the flow that plans all of it from changes and ticks.
"""

from bridge.flows.desk.flow import TICK_SOURCE, DeskFlow, build

__all__ = ["TICK_SOURCE", "DeskFlow", "build"]
