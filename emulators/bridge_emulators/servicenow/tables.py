"""The tables the emulator knows, with the columns, choices and numbering of a default instance.

Column lists follow the sample responses in the Table API docs (ServiceNowDocs
``markdown/api-reference/rest-apis/c_TableAPI.md``) for the task tables and the CSM docs for accounts
(``markdown/customer-service-management/csm-account-code-account-path.md``); fields the bridge does not
touch are left out, and a write naming a field a table does not have is ignored as the platform does.
"""

from __future__ import annotations

from collections.abc import Mapping

from .choices import (
    CASE_STATE,
    CATEGORY,
    CONTACT_TYPE,
    HOLD_REASON,
    IMPACT,
    INCIDENT_STATE,
    MAJOR_INCIDENT_STATE,
    PRIORITY,
    PROBLEM_STATE,
)
from .schema import (
    GUID,
    Field,
    TableSchema,
    boolean,
    choice,
    dt,
    integer,
    journal,
    ref,
    s,
    table,
)


def _task_fields(
    state: Mapping[str, str], state_default: str, priority: Mapping[str, str], priority_default: str = ""
) -> list[Field]:
    """Columns shared by incident, case and problem (the task table)."""
    return [
        s("number", 40),
        s("short_description", 160),
        s("description", 4000),
        choice("state", state, state_default),
        choice("impact", IMPACT, "3"),
        choice("urgency", IMPACT, "3"),
        choice("priority", priority, priority_default),
        boolean("active", "true"),
        ref("assignment_group", "sys_user_group"),
        ref("assigned_to", "sys_user"),
        ref("caller_id", "sys_user"),
        ref("cmdb_ci", "cmdb_ci"),
        ref("company", "core_company"),
        ref("opened_by", "sys_user"),
        ref("resolved_by", "sys_user"),
        ref("closed_by", "sys_user"),
        ref("sys_domain", "sys_user_group"),
        s("sys_domain_path", 255, "/"),
        choice("category", CATEGORY, "inquiry", numeric=False),
        s("subcategory", 40),
        s("close_code", 40),
        s("close_notes", 4000),
        s("correlation_id", 100),
        s("correlation_display", 100),
        choice("hold_reason", HOLD_REASON),
        s("u_external_reference", 100),
        choice("contact_type", CONTACT_TYPE, numeric=False),
        dt("opened_at"),
        dt("resolved_at"),
        dt("closed_at"),
        dt("due_date"),
        journal("comments"),
        journal("work_notes"),
        s("comments_and_work_notes", 4000),
        s("watch_list", 4000),
        s("work_notes_list", 4000),
        integer("escalation", "0"),
        integer("reassignment_count", "0"),
        integer("reopen_count", "0"),
        boolean("made_sla", "true"),
        boolean("knowledge", "false"),
        ref("parent", "task"),
        s("sys_class_name", 80),
    ]


INCIDENT = table(
    "incident",
    [
        *_task_fields(INCIDENT_STATE, "1", PRIORITY),
        choice("incident_state", INCIDENT_STATE, "1"),
        choice("severity", IMPACT, "3"),
        ref("problem_id", "problem"),
        ref("parent_incident", "incident"),
        integer("child_incidents", "0"),
        s("business_service", 32),
        # Major Incident Management: proposed -> accepted (a major incident) | rejected | canceled
        choice("major_incident_state", MAJOR_INCIDENT_STATE, numeric=False),
    ],
    display_field="number",
    number_prefix="INC",
    number_start=10001,
)

CASE = table(
    "sn_customerservice_case",
    [
        *_task_fields(CASE_STATE, "1", {k: v for k, v in PRIORITY.items() if k != "5"}, "4"),
        ref("account", "customer_account"),
        ref("contact", "customer_contact"),
        ref("partner", "customer_account"),
        ref("partner_contact", "customer_contact"),
        ref("product", "cmdb_ci"),
        s("resolution_code", 40),
        s("cause", 4000),
    ],
    display_field="number",
    number_prefix="CS",
    number_start=1001,
)

PROBLEM = table(
    "problem",
    [
        *_task_fields(PROBLEM_STATE, "101", PRIORITY),
        s("cause_notes", 4000),
        s("fix_notes", 4000),
        boolean("known_error", "false"),
    ],
    display_field="number",
    number_prefix="PRB",
    number_start=40001,
)

CUSTOMER_ACCOUNT = table(
    "customer_account",
    [
        s("name", 100),
        s("number", 40),
        ref("parent", "customer_account"),
        ref("account_parent", "customer_account"),
        s("account_path", 4000),
        s("account_code", 40),
        boolean("active", "true"),
        boolean("customer", "true"),
        boolean("partner", "false"),
        s("u_market_participant_id", 40),
        s("u_market_participant_role", 40),
        # custom fields the bridge's account sync uses (an instance admin adds them; see docs/accounts.md)
        s("u_bridge_key", 100),
        s("u_market_participant_ids", 255),
        s("u_market_roles", 255),
        ref("primary_contact", "customer_contact"),
        s("phone", 40),
        s("website", 1024),
        s("street", 255),
        s("city", 100),
        s("zip", 40),
        s("country", 40),
        s("notes", 4000),
        s("sys_class_name", 80),
    ],
    number_prefix="ACC",
    number_start=1001,
)

_PERSON = [
    s("user_name", 100),
    s("name", 151),
    s("first_name", 50),
    s("last_name", 50),
    s("email", 100),
    boolean("active", "true"),
    s("title", 60),
    s("phone", 40),
    s("mobile_phone", 40),
    ref("company", "core_company"),
    ref("manager", "sys_user"),
    ref("department", "cmn_department"),
    ref("location", "cmn_location"),
    s("employee_number", 40),
    s("time_zone", 40),  # the user's preference: display values of date-times are shown in it
    s("preferred_language", 3, "en"),
    boolean("vip", "false"),
    boolean("locked_out", "false"),
    dt("last_login_time"),
    s("sys_class_name", 80),
]

CUSTOMER_CONTACT = table("customer_contact", [*_PERSON, ref("account", "customer_account")])
SYS_USER = table("sys_user", _PERSON)

SYS_USER_GROUP = table(
    "sys_user_group",
    [
        s("name", 80),
        s("description", 1000),
        s("email", 100),
        ref("manager", "sys_user"),
        ref("parent", "sys_user_group"),
        boolean("active", "true"),
        s("type", 1024),
    ],
)

SYS_USER_GRMEMBER = table(
    "sys_user_grmember",
    [ref("group", "sys_user_group"), ref("user", "sys_user")],
    display_field="group",
)

CORE_COMPANY = table(
    "core_company",
    [
        s("name", 80),
        ref("parent", "core_company"),
        boolean("customer", "false"),
        boolean("vendor", "false"),
        boolean("manufacturer", "false"),
        s("phone", 40),
        s("website", 1024),
        s("street", 255),
        s("city", 100),
        s("zip", 40),
        s("country", 40),
        s("notes", 4000),
        s("sys_class_name", 80),
    ],
)

CMDB_CI = table(
    "cmdb_ci",
    [
        s("name", 255),
        ref("company", "core_company"),
        choice("operational_status", {"1": "Operational", "2": "Non-Operational"}, "1"),
        s("sys_class_name", 80),
    ],
)

CMN_DEPARTMENT = table(
    "cmn_department",
    [s("name", 100), s("id", 40), s("description", 1000), ref("dept_head", "sys_user"), ref("parent", "cmn_department"),
     ref("company", "core_company"), s("cost_center", 32)],
)  # fmt: skip
CMN_LOCATION = table(
    "cmn_location",
    [s("name", 255), s("street", 255), s("city", 100), s("state", 100), s("zip", 40), s("country", 40),
     ref("company", "core_company"), s("time_zone", 40)],
)  # fmt: skip
SYS_USER_ROLE = table("sys_user_role", [s("name", 100), s("description", 1000), boolean("elevated_privilege", "false")])
SYS_USER_HAS_ROLE = table(
    "sys_user_has_role",
    [ref("user", "sys_user"), ref("role", "sys_user_role"), s("state", 40, "active")],
    display_field="role",
)
SYS_USER_GRMEMBER = table(
    "sys_user_grmember", [ref("user", "sys_user"), ref("group", "sys_user_group")], display_field="user"
)

SYS_JOURNAL_FIELD = table(
    "sys_journal_field",
    [Field("element_id", GUID), s("name", 80), s("element", 40), s("value", 100000)],
    display_field="element",
)

SYS_ATTACHMENT = table(
    "sys_attachment",
    [
        s("file_name", 100),
        s("table_name", 100),
        Field("table_sys_id", GUID),
        s("content_type", 100),
        integer("size_bytes"),
        integer("size_compressed"),
        boolean("compressed", "true"),
        s("hash", 64),
        integer("image_height"),
        integer("image_width"),
        s("average_image_color", 40),
    ],
    display_field="file_name",
)

TABLES: Mapping[str, TableSchema] = {
    t.name: t
    for t in (
        INCIDENT,
        CASE,
        PROBLEM,
        CUSTOMER_ACCOUNT,
        CUSTOMER_CONTACT,
        SYS_USER,
        SYS_USER_GROUP,
        SYS_USER_GRMEMBER,
        CORE_COMPANY,
        CMDB_CI,
        CMN_DEPARTMENT,
        CMN_LOCATION,
        SYS_USER_ROLE,
        SYS_USER_HAS_ROLE,
        SYS_USER_GRMEMBER,
        SYS_JOURNAL_FIELD,
        SYS_ATTACHMENT,
    )
}

# Tables extended from sys_user compute "name" from first and last name, as the platform's calculated field.
PERSON_TABLES = frozenset({"sys_user", "customer_contact"})
