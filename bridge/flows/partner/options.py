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
    """Our table's state values: On Hold / Awaiting Vendor while the partner works, then resolved."""

    hold: str
    hold_reason: str = "4"  # Awaiting Vendor
    resolved: str = "6"
    reopen: str
    closed: list[str]
    code_field: str
    code_value: str = "Solved by partner"


TABLE_STATES = {
    # sn_customerservice_case has no On Hold state on a default instance: Awaiting Info (18) + Awaiting Vendor
    "sn_customerservice_case": CaseStates(hold="18", reopen="10", closed=["3", "7"], code_field="resolution_code"),
    "incident": CaseStates(hold="3", reopen="2", closed=["7", "8"], code_field="close_code"),
}


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
    webhook_secret: SecretStr | None = Field(None, description="side partner, Jira: the signed webhook's secret")
    portal_url_template: str = "https://support.elexon.co.uk/csm?id=csm_ticket&table={table}&sys_id={sys_id}"


def parse_options(route: RouteSettings, config: BridgeConfig) -> Options:
    try:
        opts = Options.model_validate(route.options)
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
