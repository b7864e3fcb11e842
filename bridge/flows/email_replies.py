"""Replies from email-only desks -> customer-visible comments (and attachments) on our ServiceNow case.

The shared mailbox is read by :mod:`bridge.sources.mailbox`: each mail that names its case becomes an inbox
event (its Message-ID the dedupe key) carrying the comment text and the attachments; this flow plans the
comment and the attachments on the case, found by its number.

MPANs a desk writes may go onto the case (that is where they belong); they never leave again, because every
outbound email passes the email adapter's redaction gate.

Route (kind `email-replies`): `target` is our ServiceNow; options `mailbox` (the IMAP settings of
:class:`bridge.adapters.imap.Settings`), `table` (default `sn_customerservice_case`), `interval_seconds` (30).
"""

from __future__ import annotations

import json

from bridge.config import BridgeConfig, RouteSettings
from bridge.engine.flows import BaseFlow, Flow, PlanContext, Planned
from bridge.errors import ConfigError, MappingError
from bridge.store.inbox import InboxEvent


class EmailRepliesFlow(BaseFlow):
    def __init__(self, route: RouteSettings) -> None:
        self.route = route
        self.table = str(route.options.get("table", "sn_customerservice_case"))
        self.version = "email-replies-1"

    def plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]:
        reply = json.loads(event.payload)
        case = str(reply.get("case") or "")
        if not case:
            raise MappingError("a reply event without a case number")
        correlation = {"table": self.table, "field": "number", "value": case}
        key = f"case:{case}"
        ops = [Planned("comment", {"table": self.table, "text": reply["comment"]}, key, correlation=correlation)]
        for item in reply.get("attachments", []):
            payload = {"table": self.table, **item}
            ops.append(Planned("attach", payload, key, correlation=correlation))
        return ops


def build(route: RouteSettings, config: BridgeConfig) -> Flow:
    if not isinstance(route.options.get("mailbox"), dict):
        raise ConfigError([f"routes.{route.name}.options.mailbox: the IMAP settings are required"])
    return EmailRepliesFlow(route)
