"""A faithful local emulator of the Jira Cloud REST API subset a bridge uses, plus Jira Service Management.

Layout, after moto: :mod:`.model`, :mod:`.fields` and :mod:`.state` hold the data and the write rules,
:mod:`.jql_parse` / :mod:`.jql` parse and run JQL, :mod:`.render` turns objects into Jira's JSON, the
``*_api`` modules answer requests, :mod:`.routes` maps paths to them, :mod:`.app` authenticates and rate
limits, :mod:`.server` and :mod:`.emulator` put it on a socket, :mod:`.webhooks` sends signed events.
Each module's docstring names the developer.atlassian.com page it follows.

Choices made where the docs are silent or the real thing is unknowable offline:

* one project (``MHHS``) behind one service desk (id ``1``; request types ``10`` and ``11``); every REST
  user is a licensed agent (sees internal comments, may edit and transition);
* the workflow is a fixed simple service-desk one (see :mod:`.model`); entering Resolved/Closed sets the
  resolution (``Done`` unless the transition gives one), leaving them clears it;
* ``updated`` is strictly increasing with millisecond precision, and an edit that changes nothing is no update;
* the text search ``~`` is word based (no stemming, no stop words); ``=`` on text fields is refused as in Jira;
* rate limits count per user per one-second window (Jira Cloud uses cost-based budgets);
* webhooks go to one configured URL (no JQL filter), one at a time, retried twice, then dropped;
* admin endpoints (``/emulator/admin/...``) need no credentials and are never faulted or counted.
"""

from .emulator import JiraEmulator
from .faults import FAULT_KINDS, KNOWN_FAULTS, FaultConfig
from .model import AGENT, DEFAULT_USERS, CustomField, User
from .state import JiraState
from .webhooks import EVENTS, WebhookConfig, sign

__all__ = [
    "AGENT",
    "DEFAULT_USERS",
    "EVENTS",
    "FAULT_KINDS",
    "KNOWN_FAULTS",
    "CustomField",
    "FaultConfig",
    "JiraEmulator",
    "JiraState",
    "User",
    "WebhookConfig",
    "sign",
]
