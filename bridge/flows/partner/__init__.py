"""Cross-party e-bonding (the `partner-case` route kind): :mod:`.flow` is the entry, read it first.

The protocol's steps each have a module: :mod:`.raising` (CPSD 7.1.2 contents, the raise), :mod:`.states`
(resolve, reopen, close across the pair), :mod:`.fields` (two-way priority), :mod:`.comments` (public comments
both ways), :mod:`.attachments`, :mod:`.response` (the partner's response clock); beside them :mod:`.lookup`
(which case a partner record belongs to), :mod:`.jira` (a Jira issue read as a partner record), :mod:`.sync`
(echo-free bookkeeping), :mod:`.raise_maps` (the raise's field maps), :mod:`.options` and :mod:`.operations`.
"""

from __future__ import annotations

from bridge.flows.partner.flow import FLOW, PartnerCaseFlow, build

__all__ = ["FLOW", "PartnerCaseFlow", "build"]
