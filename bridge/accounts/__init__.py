"""Participant parent/child account sync into ServiceNow CSM: registry, validation, planner, rendering.

Everything here is pure: the engine turns each :class:`Step` of a :class:`SyncPlan` into one outbox
operation and the CLI prints the renderings (Ops Manual 10.4, CPSD Approach 9).
"""

from __future__ import annotations

from bridge.accounts.generate import generate_change_set, generate_registry
from bridge.accounts.mapping import DEFAULT_MAPPING, AccountMapping
from bridge.accounts.model import CONTACT_ROLES, DEFAULT_MAX_DEPTH, ROLES, Contact, Organisation, Registry
from bridge.accounts.plan import plan_sync
from bridge.accounts.registry import load_registry
from bridge.accounts.render import render_plan_table, render_tree
from bridge.accounts.simulate import apply_plan
from bridge.accounts.steps import FieldChange, Step, StepKind, SyncPlan
from bridge.accounts.validate import check_registry, validate_registry

__all__ = [
    "CONTACT_ROLES",
    "DEFAULT_MAPPING",
    "DEFAULT_MAX_DEPTH",
    "ROLES",
    "AccountMapping",
    "Contact",
    "FieldChange",
    "Organisation",
    "Registry",
    "Step",
    "StepKind",
    "SyncPlan",
    "apply_plan",
    "check_registry",
    "generate_change_set",
    "generate_registry",
    "load_registry",
    "plan_sync",
    "render_plan_table",
    "render_tree",
    "validate_registry",
]
