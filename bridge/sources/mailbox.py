"""The shared mailbox of email-only desks (IMAP), read on a schedule into inbox events: the mailbox of an
`email-replies` route, or of a central `partner-case` route (``options.mailbox``: the agreed mailbox of CPSD 7.2,
"Cases should be submitted via the Elexon Service Desk portal or agreed email contact points").

Each mail that names its case (`[CS0012345]` in the subject, or an In-Reply-To / References naming an email the
bridge sent about it) becomes an inbox event keyed by its Message-ID, and only once that event is durable is the
mail moved to the processed folder: a crash in between re-reads it and the Message-ID absorbs the repeat. For a
`partner-case` route, a mail that names no case but comes from an address of the partner directory is a case that
party raises to Elexon, and becomes an event too (``case`` null). Other mail that names no case, or could not be
read, goes to the quarantine folder for an admin (the logs say so); nothing is dropped. Auto-replies and bounces
are filed without a comment, so two robots cannot talk to each other for ever. The route's flow plans the rest
(:mod:`bridge.flows.email_replies`, or the e-bonding flow).

MPANs a desk writes may go onto the case (that is where they belong); they never leave again, because every
outbound email passes the email adapter's redaction gate.

Route (kind `email-replies`): options `mailbox` (the IMAP settings of :class:`bridge.adapters.imap.Settings`),
`interval_seconds` (30). A `partner-case` route: options `mailbox` and `mailbox_interval_seconds` (30).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.config import BridgeConfig, RouteSettings
from bridge.errors import ConfigError
from bridge.store import Store, outbox
from bridge.store import inbox as ib

log = logging.getLogger("bridge.mailbox")
SOURCE = "email"


def reply_event(route: str, mail: Any, case: str | None) -> ib.NewEvent:
    from bridge.mappings.inbound_email import to_comment

    attachments = [
        {"file_name": a.filename, "content_type": a.content_type, "content_b64": base64.b64encode(a.data).decode()}
        for a in mail.attachments
        if not (a.inline and a.content_type.startswith("image/"))
    ]
    from bridge.mappings._inbound_text import strip_quoted_reply

    body = {
        "case": case,
        "comment": to_comment(mail),
        "from": mail.from_address,
        "subject": mail.subject,
        "text": strip_quoted_reply(mail.text),
        "attachments": attachments,
    }
    return ib.NewEvent(
        source=SOURCE, route=route, dedupe_key=mail.message_id[:255], record_key=case, payload=json.dumps(body)
    )


def mailbox_job(
    store: Store, route: RouteSettings, ingest: Callable[[list[ib.NewEvent]], list[ib.Accepted]]
) -> Callable[[], None]:
    """Read the mailbox once: events first (durable), then move each mail; under a cluster-wide lock."""
    from bridge.adapters.imap import from_config
    from bridge.mappings.inbound_email import case_reference

    def job() -> None:
        with store.singleton(f"mailbox:{route.name}") as mine:
            if not mine:
                return

            def by_thread(mail: Any) -> str | None:
                return case_reference(mail, lookup_message_id=lambda mid: case_for_message(store, mid))

            known = known_senders(route, store)
            with from_config(route.name, route.options["mailbox"]) as reader:
                for mail in reader.fetch_new(limit=50):
                    _handle(reader, mail, route.name, ingest, by_thread, known)

    return job


def known_senders(route: RouteSettings, store: Store | None = None) -> set[str]:
    """The addresses a party of a `partner-case` route's directory raises cases from (read at each run, so a new
    version is taken without a restart: the store's live version, which the admin page edits, else the file);
    none for an `email-replies` route."""
    from bridge.mappings.documents import directory_name
    from bridge.partners import load_partners
    from bridge.partners.load import parse_directory
    from bridge.store import mappings

    if route.kind != "partner-case":
        return set()
    path = Path(str(route.options.get("partners", "config/partners.yaml")))
    try:
        live = None
        if store is not None:
            with store.begin() as conn:
                live = mappings.current(conn, directory_name(path))
        directory = parse_directory(live.content, path) if live else load_partners(path)
    except ConfigError as exc:
        log.error("partner directory unreadable; mail naming no case is quarantined", extra={"error": str(exc)})
        return set()
    return {a for p in directory.partners if p.e_bonded for a in p.inbound_addresses}


def _handle(
    reader: Any,
    mail: Any,
    route: str,
    ingest: Callable[..., Any],
    case_reference: Callable[..., Any],
    known: set[str] = frozenset(),  # type: ignore[assignment]
) -> None:
    if mail.problem:
        reader.quarantine(mail.uid, mail.problem)
        log.warning("mail quarantined", extra={"route": route, "reason": mail.problem})
        return
    if mail.automatic:
        reader.mark_handled(mail.uid)
        return
    case = case_reference(mail)
    if case is None and mail.from_address.strip().lower() in known:
        ingest([reply_event(route, mail, None)])  # a case the party raises to Elexon (CPSD 7.2)
        reader.mark_handled(mail.uid)
        return
    if case is None:
        reader.quarantine(mail.uid, "no case reference such as [CS0012345] in the subject")
        log.warning("mail quarantined", extra={"route": route, "reason": "no case reference"})
        return
    ingest([reply_event(route, mail, case)])
    reader.mark_handled(mail.uid)


def case_for_message(store: Store, message_id: str) -> str | None:
    """The case an email the bridge sent was about, by its Message-ID (kept as the outbox row's result id)."""
    bare = message_id.strip().strip("<>")
    if not bare:
        return None
    with store.begin() as conn:
        payload = outbox.sent_email_payload(conn, [f"<{bare}>", bare])
    return str((payload or {}).get("case_number") or "") or None


def jobs(
    config: BridgeConfig, store: Store, ingest: Callable[[list[ib.NewEvent]], list[ib.Accepted]]
) -> list[tuple[str, float, Callable[[], None]]]:
    """The mailbox job of every `email-replies` route and every `partner-case` route with a mailbox (its settings
    checked first)."""
    routes = [
        r for r in config.routes if r.kind == "email-replies" or (r.kind == "partner-case" and "mailbox" in r.options)
    ]
    for route in routes:
        check_settings(route)
    return [(f"mailbox:{r.name}", _interval(r), mailbox_job(store, r, ingest)) for r in routes]


def _interval(route: RouteSettings) -> float:
    key = "interval_seconds" if route.kind == "email-replies" else "mailbox_interval_seconds"
    return float(route.options.get(key, 30))


def check_settings(route: RouteSettings) -> None:
    """The route's mailbox settings, checked at start (every problem, with its key path)."""
    from bridge.adapters.imap import Settings

    if not isinstance(route.options.get("mailbox"), dict):
        raise ConfigError([f"routes.{route.name}.options.mailbox: the IMAP settings are required"])
    try:
        Settings.model_validate(route.options["mailbox"])
    except Exception as exc:
        raise ConfigError([f"routes.{route.name}.options.mailbox: {exc}"]) from exc
