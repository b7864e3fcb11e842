"""Route options of the `partner-case` flow (docs/ebonding.md lists each one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from bridge.config import BridgeConfig, RouteSettings
from bridge.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Assignment(_Strict):
    field: str = "assignment_group"
    values: dict[str, str] = Field(description="assignment value (group sys_id or name) -> partner key")
    by_category: list[str] = Field(
        default_factory=list, description="assignment values meaning: the party that covers the case's category"
    )
    category_field: str = "category"


class CaseStates(_Strict):
    """Our table's state values: On Hold / Awaiting Vendor while the partner works; ``review`` when the partner
    resolved (Elexon confirms before the raiser is told, Ops Manual 10.3; default: the ``reopen`` state, an active
    one); ``new`` for triage; ``resolved``, ``closed`` and ``cancelled`` end the partner's work."""

    hold: str
    hold_reason: str = "4"  # Awaiting Vendor
    resolved: str = "6"
    reopen: str
    review: str | None = None
    new: str = "1"
    closed: list[str]
    cancelled: list[str] = Field(default_factory=list)
    code_field: str
    code_value: str = "Solved by partner"

    @property
    def review_state(self) -> str:
        return self.review or self.reopen


TABLE_STATES = {
    # sn_customerservice_case has no On Hold state on a default instance: Awaiting Info (18) + Awaiting Vendor
    "sn_customerservice_case": CaseStates(
        hold="18", reopen="10", closed=["3"], cancelled=["7"], code_field="resolution_code"
    ),
    "incident": CaseStates(hold="3", reopen="2", closed=["7"], cancelled=["8"], code_field="close_code"),
}


class Triage(_Strict):
    """Where a case goes back to when a partner cancels its ticket or answers "not ours" (CPSD 2(c)(a)): our
    state (default the table's ``new``) and, when set, the assignment group of the triage team."""

    state: str | None = None
    assignment_group: str | None = None


class InboundCases(_Strict):
    """Cases another party raises to Elexon (CPSD 7.2): where our new case goes (default: the triage settings),
    how the raiser is recorded (``account_field`` = the customer account whose ``account_key_field`` is the
    party's registry key), what marks a case missing the 7.2.1 contents besides the work note
    (``incomplete_fields``), and how long its description must be."""

    state: str | None = None
    assignment_group: str | None = None
    account_field: str = "account"
    account_key_field: str = "u_bridge_key"
    incomplete_fields: dict[str, str] = Field(default_factory=dict)
    min_description: int = Field(30, ge=0)


class NotifyKinds(_Strict):
    """Which raiser notifications a category wants."""

    acknowledge: bool = True
    updates: bool = True
    resolution: bool = True


class Notifications(NotifyKinds):
    """Raiser notifications by email (Ops Manual 10.2, 10.3): on with ``target`` (an email target of bridge.yaml);
    each kind on or off for the route, and per category value (``categories``, read from ``category_field``)."""

    target: str | None = None
    categories: dict[str, NotifyKinds] = Field(default_factory=dict)
    category_field: str = "category"
    raiser_field: str = "contact"
    raiser_table: str = "customer_contact"
    email_field: str = "email"
    state_labels: dict[str, str] = Field(default_factory=dict)


class OutsideScope(_Strict):
    """How our desk marks a case a party raised to us as outside Elexon's scope (CPSD 7.2.2): a state, or a value
    of a field (e.g. ``resolution_code``); the direction written in ``direction_field`` goes to the party."""

    states: list[str] = Field(default_factory=list)
    field: str | None = None
    values: list[str] = Field(default_factory=list)
    direction_field: str = "close_notes"


class Attachments(_Strict):
    """Attachments are copied both ways (ServiceNow and Jira partners) up to this size each."""

    enabled: bool = True
    max_bytes: int = Field(10 * 1024 * 1024, ge=1)


class Contents(_Strict):
    min_description: int = Field(30, ge=0)
    extra_fields: list[str] = Field(default_factory=list)


class RaiseMapNames(_Strict):
    """The raise's field map per channel: a file in ``mappings_dir`` (see partner_maps)."""

    servicenow: str = "case-to-partner-servicenow"
    jira: str = "case-to-partner-jira"


Rule = Literal["central", "partner", "latest"]


def _default_conflicts() -> dict[str, Rule]:
    return {"priority": "central"}


class Options(_Strict):
    side: Literal["central", "partner"] = "central"
    partner: str | None = Field(None, description="side partner: the partner whose desk this route polls")
    central: str | None = Field(None, description="our ServiceNow target; default: the route's target")
    table: str = "sn_customerservice_case"
    partners: Path = Path("config/partners.yaml")
    assignment: Assignment | None = None
    poll: dict[str, Any] | None = None
    states: CaseStates | None = None
    reference_field: str = "u_external_reference"
    conflicts: dict[str, Rule] = Field(default_factory=_default_conflicts)
    contents: Contents = Field(default_factory=Contents)  # type: ignore[arg-type]
    attachments: Attachments = Field(default_factory=Attachments)  # type: ignore[arg-type]
    mappings: RaiseMapNames = Field(default_factory=RaiseMapNames)
    partner_comments: Literal["work_notes", "comments"] = Field(
        "work_notes", description="how a partner's public comments land on our case (Appendix G: work notes)"
    )
    on_partner_resolved: Literal["review", "resolve"] = Field(
        "review", description="review: our case waits for Elexon to confirm (Ops Manual 10.3); resolve: at once"
    )
    triage: Triage = Field(default_factory=Triage)
    inbound: InboundCases = Field(default_factory=InboundCases)  # type: ignore[arg-type]
    outside_scope: OutsideScope = Field(default_factory=OutsideScope)
    notifications: Notifications = Field(default_factory=Notifications)
    mailbox: dict[str, Any] | None = Field(None, description="central: the agreed mailbox (IMAP settings)")
    mailbox_interval_seconds: float = Field(30.0, gt=0)
    webhook_secret: SecretStr | None = Field(None, description="side partner, Jira: the signed webhook's secret")
    portal_url_template: str = "https://support.elexon.co.uk/csm?id=csm_ticket&table={table}&sys_id={sys_id}"


#: what a partner route plans on our case by the same rules as the central route: unless it sets them itself, it
#: takes them from the central route (one place to configure how our case behaves)
SHARED = (
    "table",
    "states",
    "reference_field",
    "conflicts",
    "partner_comments",
    "on_partner_resolved",
    "triage",
    "inbound",
    "outside_scope",
    "portal_url_template",
    "attachments",
)


def _with_central(route: RouteSettings, config: BridgeConfig) -> dict[str, Any]:
    """A partner route's options, completed by those of the central route it works with (same target)."""
    options = dict(route.options)
    if options.get("side", "central") != "partner":
        return options
    for other in config.routes:
        central = other.kind == "partner-case" and other.options.get("side", "central") == "central"
        if central and other.target == route.target:
            return {**{k: other.options[k] for k in SHARED if k in other.options}, **options}
    return options


def parse_options(route: RouteSettings, config: BridgeConfig) -> Options:
    try:
        opts = Options.model_validate(_with_central(route, config))
    except ValidationError as exc:
        raise ConfigError(
            [f"routes.{route.name}.options.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        ) from None
    problems = []
    if opts.side == "central" and opts.assignment is None:
        problems.append(f"routes.{route.name}.options.assignment: a central route needs the assignment map")
    if opts.side == "partner" and not opts.partner:
        problems.append(f"routes.{route.name}.options.partner: a partner route names its partner")
    if route.mapping:
        problems.append(f"routes.{route.name}.mapping: a partner-case route names its field maps in options.mappings")
    if opts.states is None and opts.table not in TABLE_STATES:
        problems.append(f"routes.{route.name}.options.states: give the state values of table {opts.table!r}")
    if problems:
        raise ConfigError(problems)
    if not opts.partners.is_absolute() and not opts.partners.exists():
        opts.partners = config.mappings_dir.parent.parent / opts.partners
    return opts


def states_of(opts: Options) -> CaseStates:
    return opts.states or TABLE_STATES[opts.table]
