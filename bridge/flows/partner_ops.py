"""Route options of the `partner-case` flow, and the operations it plans: on our case, on a partner's desk."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from bridge.config import BridgeConfig, RouteSettings
from bridge.engine.flows import PlanContext, Planned
from bridge.errors import ConfigError
from bridge.flows import partner_checks as checks
from bridge.mappings.email_templates import render_email
from bridge.partners import Partner
from bridge.store import outbox as ob
from bridge.store.schema import links, outbox

SELF = "ebond-case"  # link system of our own case (a link to itself, so its operations find their sys_id)
UNFINISHED = ("pending", "retry", "inflight")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Assignment(_Strict):
    field: str = "assignment_group"
    values: dict[str, str] = Field(description="assignment value (group sys_id or name) -> partner key")


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


# -- what the store knows about the pair -------------------------------------------------------------------


def ensure_self_link(ctx: PlanContext, central: str, sys_id: str) -> None:
    if ctx.link(SELF, sys_id, central) is None:
        ob.put_link(ctx.conn, ctx.store, (SELF, sys_id, central), sys_id)


def write_info(ctx: PlanContext, target: str, key: str, link: tuple[str, str]) -> tuple[int | None, bool]:
    """(the record version the bridge's last delivered write produced, whether writes are still unfinished)."""
    version = ctx.conn.execute(
        sa.select(links.c.version_b).where(
            links.c.system_a == link[0], links.c.id_a == link[1], links.c.system_b == target
        )
    ).scalar()
    pending = ctx.conn.execute(
        sa.select(sa.func.count())
        .select_from(outbox)
        .where(outbox.c.target_system == target, outbox.c.target_key == key, outbox.c.status.in_(UNFINISHED))
    ).scalar()
    return _version_number(version), bool(pending)


def _version_number(version: object) -> int | None:
    """A ServiceNow sys_mod_count as it is; a Jira ``updated`` version as epoch milliseconds (comparable with
    the ``sys_mod_count`` the Jira side's records carry, see partner_jira)."""
    if version in (None, ""):
        return None
    text = str(version)
    if text.isdigit():
        return int(text)
    return int(datetime.fromisoformat(text).timestamp() * 1000)


# -- operations ------------------------------------------------------------------------------------------


def on_case(opts: Options, central: str, sys_id: str, action: str, payload: dict[str, Any]) -> Planned:
    """An operation on our case (found through its self link)."""
    return Planned(action, {"table": opts.table, **payload}, f"ebond:{sys_id}", link=(SELF, sys_id), target=central)


def on_partner(
    partner: Partner, central: str, sys_id: str, action: str, payload: dict[str, Any], **extra: Any
) -> Planned:
    """An operation on the partner's record (found through the link our create wrote)."""
    if partner.channel == "email":
        return Planned(action, payload, f"ebond:{sys_id}", target=partner.target)
    body = {"table": partner.table, **payload}
    return Planned(action, body, f"ebond:{sys_id}", link=(central, sys_id), target=partner.target, **extra)


def partner_email_raise(partner: Partner, opts: Options, record: dict[str, Any], priority: str) -> Planned:
    """The raise to an email desk: the ``case_raised`` email (ServiceNow and Jira desks: partner_maps)."""
    return email(partner, opts, record, "case_raised", _raised_context(partner, record, priority))


def email(partner: Partner, opts: Options, record: dict[str, Any], kind: str, context: dict[str, Any]) -> Planned:
    sys_id, number = _p(record.get("sys_id")), _p(record.get("number"))
    portal = opts.portal_url_template.format(table=opts.table, sys_id=sys_id)
    base = {"case_number": number, "summary": _p(record.get("short_description")), "portal_url": portal}
    rendered = render_email(kind, {**base, **context})
    payload = {
        "to": [partner.email],
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "case_number": number,
        "portal_url": portal,
    }
    return Planned("send_email", payload, f"ebond:{sys_id}", target=partner.target)


def _raised_context(partner: Partner, record: dict[str, Any], priority: str) -> dict[str, Any]:
    found = checks.extract(record)
    return {
        "impact": "\n".join(found["impact"]),
        "references": found["references"],
        "evidence": found["evidence"],
        "partner_name": partner.name,
        "priority": priority,
        "raised_at": _p(record.get("sys_updated_on")),
    }


def _p(value: Any) -> str:
    return str(value.get("value", "")) if isinstance(value, dict) else str(value or "")
