"""Identity helpers: correlation keys, ARM resource ids and portal links.

A correlation key must be stable across a Fired, its re-notifications and its Resolved, short enough for
ServiceNow's ``correlation_id`` (100 characters) and never empty.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

MAX_KEY_LENGTH = 100
_INSTANCE_ID = re.compile(r"[0-9A-Fa-f][0-9A-Fa-f-]{15,99}")
_SAFE_KEY = re.compile(r"[^A-Za-z0-9._:-]+")
PORTAL_ALERT_LINK = "https://portal.azure.com/#blade/Microsoft_Azure_Monitoring/AlertDetailsTemplateBlade/alertId/"


def derived_key(prefix: str, parts: Iterable[str]) -> str:
    """A stable key for payloads without an alert instance id: ``prefix-`` + 40 hex of a SHA-256.

    The parts are case-folded and stripped first, because Azure is inconsistent about the case of
    resource ids (``resourceGroups`` / ``resourcegroups``) between notifications of the same alert.
    """
    material = "\x1f".join(part.strip().lower() for part in parts)
    return f"{prefix}-{hashlib.sha256(material.encode('utf-8')).hexdigest()[:40]}"


def key_from_alert_id(alert_id: str) -> str:
    """The alert GUID from the last segment of ``alertId``; a hash of the whole id when that is no GUID."""
    last = alert_id.rstrip("/").rsplit("/", 1)[-1]
    if _INSTANCE_ID.fullmatch(last):
        return last.lower()
    return derived_key("azid", [alert_id])


def bounded_key(prefix: str, natural: str) -> str:
    """``prefix-natural`` when it is short and plain enough for correlation_id, otherwise a hash of it."""
    cleaned = _SAFE_KEY.sub("-", natural.strip()).strip("-")
    candidate = f"{prefix}-{cleaned}"
    if cleaned and len(candidate) <= MAX_KEY_LENGTH:
        return candidate
    return derived_key(prefix, [natural])


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """The parts of an Azure Resource Manager id."""

    subscription_id: str = ""
    resource_group: str = ""
    resource_type: str = ""
    resource_name: str = ""


def parse_resource_id(resource_id: str) -> ResourceRef:
    """Split ``/subscriptions/s/resourceGroups/g/providers/ns/type/name[/child/name]`` into its parts.

    Tolerant: a subscription-only or resource-group-only id gives what it has, anything else gives blanks.
    The type keeps the namespace and every child type (``Microsoft.Sql/servers/databases``).
    """
    segments = [segment for segment in resource_id.strip().split("/") if segment]
    lowered = [segment.lower() for segment in segments]
    subscription = _after(segments, lowered, "subscriptions")
    group = _after(segments, lowered, "resourcegroups")
    if "providers" not in lowered:
        return ResourceRef(subscription, group)
    tail = segments[lowered.index("providers") + 1 :]
    if len(tail) < 3:
        return ResourceRef(subscription, group, "/".join(tail))
    types = [tail[0], *tail[1::2]]
    names = tail[2::2]
    if len(names) < len(types) - 1:
        types = types[: len(names) + 1]
    return ResourceRef(subscription, group, "/".join(types), names[-1] if names else "")


def _after(segments: list[str], lowered: list[str], marker: str) -> str:
    if marker in lowered:
        index = lowered.index(marker) + 1
        if index < len(segments):
            return segments[index]
    return ""


def portal_alert_link(alert_id: str) -> str:
    """Azure portal deep link to an alert instance, for payloads that carry no investigation link."""
    if "/providers/microsoft.alertsmanagement/alerts/" not in alert_id.lower():
        return ""
    return PORTAL_ALERT_LINK + quote(alert_id, safe="")
