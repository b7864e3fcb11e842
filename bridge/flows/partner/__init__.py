"""Cross-party e-bonding (the `partner-case` route kind): :mod:`.flow` is the entry, read it first.

The protocol's steps each have a module: :mod:`.routing` (which party), :mod:`.raising` (CPSD 7.1.2 contents, the
raise and its outcome), :mod:`.rerouting`, :mod:`.states` and :mod:`.closure` (states both ways, how a pair
ends), :mod:`.fields` (two-way priority), :mod:`.comments`, :mod:`.attachments`, :mod:`.response` (the partner's
response clock), :mod:`.inbound` and :mod:`.inbound_sync` (cases raised to Elexon, CPSD 7.2), :mod:`.mail` (the
agreed mailbox), :mod:`.notify` (raiser notifications), :mod:`.outcomes`; beside them :mod:`.lookup` (which case a
partner record belongs to), :mod:`.jira` (a Jira issue read as a partner record), :mod:`.sync` (echo-free
bookkeeping), :mod:`.raise_maps` (the raise's field maps), :mod:`.pair`, :mod:`.options` and :mod:`.operations`.
"""

from __future__ import annotations

from bridge.flows.partner.flow import FLOW, PartnerCaseFlow, build

__all__ = ["FLOW", "PartnerCaseFlow", "build"]
