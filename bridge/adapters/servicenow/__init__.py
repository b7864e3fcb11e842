"""ServiceNow adapter (Table and Attachment APIs, on pysnow): the public face of the package.

    from bridge.adapters.servicenow import ServiceNowAdapter, Settings, from_config

Modules: ``settings`` (config), ``failures`` (the status -> error table), ``transport`` (auth, budget,
concurrency, metrics around every call), ``auth`` (basic / OAuth), ``queries`` (safe encoded queries),
``schema`` (field checks), ``api`` (one call each), ``reads`` (streaming), ``writes`` (payloads).
"""

from __future__ import annotations

from .adapter import ServiceNowAdapter, from_config
from .failures import STATUS_TABLE
from .queries import UnsafeQueryError
from .settings import BasicAuth, OAuthAuth, Settings, Timeouts

__all__ = [
    "STATUS_TABLE",
    "BasicAuth",
    "OAuthAuth",
    "ServiceNowAdapter",
    "Settings",
    "Timeouts",
    "UnsafeQueryError",
    "from_config",
]
