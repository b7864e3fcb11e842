"""Choice lists and state groupings of the task tables, as on a default instance.

Incident states and impact/urgency/priority labels as the Table API docs' samples show them
(ServiceNowDocs ``markdown/api-reference/rest-apis/c_TableAPI.md``); which states end a task's ``active``
flag follows the platform's task state rules.
"""

from __future__ import annotations

from collections.abc import Mapping

INCIDENT_STATE = {
    "1": "New",
    "2": "In Progress",
    "3": "On Hold",
    "6": "Resolved",
    "7": "Closed",
    "8": "Canceled",
}
CASE_STATE = {
    "1": "New",
    "10": "Open",
    "18": "Awaiting Info",
    "6": "Resolved",
    "3": "Closed",
    "7": "Cancelled",
}
PROBLEM_STATE = {
    "101": "New",
    "102": "Assess",
    "103": "Root Cause Analysis",
    "104": "Fix in Progress",
    "106": "Resolved",
    "107": "Closed",
}
MAJOR_INCIDENT_STATE = {"proposed": "Proposed", "accepted": "Accepted", "rejected": "Rejected", "canceled": "Canceled"}
IMPACT = {"1": "1 - High", "2": "2 - Medium", "3": "3 - Low"}
PRIORITY = {"1": "1 - Critical", "2": "2 - High", "3": "3 - Moderate", "4": "4 - Low", "5": "5 - Planning"}
HOLD_REASON = {
    "1": "Awaiting Caller",
    "3": "Awaiting Problem",
    "4": "Awaiting Vendor",
    "5": "Awaiting Change",
}
CATEGORY = {
    "inquiry": "Inquiry / Help",
    "software": "Software",
    "hardware": "Hardware",
    "network": "Network",
    "database": "Database",
}
CONTACT_TYPE = {
    "email": "Email",
    "phone": "Phone",
    "self-service": "Self-service",
    "walk-in": "Walk-in",
    "web": "Web",
    "chat": "Chat",
    "virtual_agent": "Virtual Agent",
}

# States in which a task is no longer active, per table (the platform's "active" business rules).
INACTIVE_STATES: Mapping[str, frozenset[str]] = {
    "incident": frozenset({"7", "8"}),
    "sn_customerservice_case": frozenset({"3", "7"}),
    "problem": frozenset({"107"}),
}
RESOLVED_STATES: Mapping[str, frozenset[str]] = {
    "incident": frozenset({"6"}),
    "sn_customerservice_case": frozenset({"6"}),
    "problem": frozenset({"106"}),
}
CLOSED_STATES: Mapping[str, frozenset[str]] = {
    "incident": frozenset({"7"}),
    "sn_customerservice_case": frozenset({"3"}),
    "problem": frozenset({"107"}),
}
