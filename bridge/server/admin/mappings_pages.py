"""The mapping editor under `/admin/mappings`: every mapping document a route uses, edited, checked, previewed,
saved as a version, rolled back, and the events a bad version planned replayed (issue 22).

Like every admin page: server-rendered, no JavaScript, each change a POST form with the session's CSRF token.
The editor form has three buttons: *Check* (every problem inline under its line, as `bridge mappings check` gives
it), *Preview* (the edit beside the live version for a sample input, and beside a live record), *Save* (a new
version with a required note; refused with the problems, or when someone saved since the editor was opened).
After a save or a rollback the page offers to replay the events the previous version planned: a dry run first,
then for real. The work is :mod:`bridge.ops.mapping_versions` and :mod:`bridge.ops.mapping_preview`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from bridge.ops import mapping_preview, mapping_versions
from bridge.ops.documents import StoreDocuments
from bridge.ops.report import planned_line
from bridge.ops.samples import sample_for
from bridge.runtime import Runtime
from bridge.server.admin.auth import check_form_csrf
from bridge.server.admin.pages import PageAdmin, Renderer, read_form, redirect
from bridge.store.inbox import InboxEvent
from bridge.store.outbox import NewOperation

MAX_REVISION = 2**31 - 1
PLANNED_SHOWN = 50


@dataclass
class Listing:
    """A text with line numbers, each problem under the line it names (``file:line: ...``)."""

    lines: list[tuple[int, str, list[str]]]
    elsewhere: list[str] = field(default_factory=list)


def listing(text: str, problems: list[str], label: str) -> Listing:
    at: dict[int, list[str]] = {}
    elsewhere: list[str] = []
    pattern = re.compile(re.escape(label) + r":(\d+):")
    for problem in problems:
        found = pattern.match(problem)
        line = int(found.group(1)) if found else 0
        (at.setdefault(line, []) if found and line <= max(1, text.count("\n") + 1) else elsewhere).append(problem)
    rows = [(n, line, at.get(n, [])) for n, line in enumerate(text.split("\n"), start=1)]
    if rows and rows[-1][1] == "" and not rows[-1][2]:
        rows.pop()  # the final newline opens no line of its own
    return Listing(rows, elsewhere)


def build_router(pages: Renderer) -> APIRouter:
    router = APIRouter(prefix="/admin/mappings", include_in_schema=False)
    runtime = pages.runtime
    _list_pages(router, pages, runtime)
    _editor_pages(router, pages, runtime)
    _version_pages(router, pages, runtime)
    return router


def _documents(runtime: Runtime) -> StoreDocuments:
    if runtime.documents is None:
        raise HTTPException(404, "this bridge has no mapping store")
    return runtime.documents


def _known(runtime: Runtime, name: str) -> mapping_versions.DocumentView:
    found = mapping_versions.document(_documents(runtime), name)
    if found is None:
        raise HTTPException(404, f"no mapping named {name!r} is used by a route")
    return found


def _list_pages(router: APIRouter, pages: Renderer, runtime: Runtime) -> None:
    @router.get("")
    def documents_list(request: Request, admin: PageAdmin) -> Response:
        docs = _documents(runtime)
        docs.watch_files()
        return pages.page(request, "mappings.html", admin, documents=mapping_versions.catalog(docs))


def _editor_pages(router: APIRouter, pages: Renderer, runtime: Runtime) -> None:
    @router.get("/{name}")
    def editor(request: Request, name: str, admin: PageAdmin, replay: str = "") -> Response:
        doc = _known(runtime, name)
        text = doc.live.content if doc.live else ""
        return _editor(pages, request, admin, doc, text=text, offer=_offer(runtime, doc, replay))

    @router.post("/{name}")
    async def act(request: Request, name: str, admin: PageAdmin) -> Response:
        form = await read_form(request)
        check_form_csrf(admin, form)
        doc = _known(runtime, name)
        action = form.get("do", "check")
        if action == "save":
            return await run_in_threadpool(_save, pages, request, admin, doc, form)
        return await run_in_threadpool(_check_or_preview, pages, request, admin, doc, form, action == "preview")


def _check_or_preview(
    pages: Renderer, request: Request, admin: Any, doc: mapping_versions.DocumentView, form: dict[str, str], full: bool
) -> Response:
    runtime = pages.runtime
    docs = _documents(runtime)
    text = mapping_versions.normalized(form.get("text", ""))
    if not full:
        problems = docs.check(doc.name, text)
        return _editor(pages, request, admin, doc, form=form, text=text, problems=problems, checked=True)
    ctx = mapping_preview.Context(runtime.routes, runtime.flows, runtime.adapters)
    shown = mapping_preview.preview_edit(
        docs, doc.name, text, sample=form.get("sample", ""), record_id=form.get("record", "")[:64], ctx=ctx
    )
    return _editor(pages, request, admin, doc, form=form, text=text, problems=shown.problems, preview=shown)


def _save(
    pages: Renderer, request: Request, admin: Any, doc: mapping_versions.DocumentView, form: dict[str, str]
) -> Response:
    docs = _documents(pages.runtime)
    try:
        base = int(form.get("base", "0"))
    except ValueError:
        base = -1
    text, note = form.get("text", ""), form.get("note", "")
    outcome = mapping_versions.save(docs, doc.name, text, base=base, actor=admin.actor, note=note)
    if outcome.ok:
        previous = doc.live.version if doc.live else ""
        return redirect(f"/admin/mappings/{quote(doc.name)}?replay={previous}", outcome.message)
    code = 409 if outcome.newer else 400
    text = mapping_versions.normalized(text)
    return _editor(
        pages, request, admin, doc, form=form, text=text, problems=outcome.problems, outcome=outcome, code=code
    )


def _editor(
    pages: Renderer,
    request: Request,
    admin: Any,
    doc: mapping_versions.DocumentView,
    *,
    text: str,
    form: dict[str, str] | None = None,
    problems: list[str] | None = None,
    checked: bool = False,
    preview: mapping_preview.EditPreview | None = None,
    outcome: mapping_versions.Outcome | None = None,
    offer: dict[str, Any] | None = None,
    code: int | None = None,
) -> Response:
    runtime = pages.runtime
    form = form or {}
    problems = problems or []
    sample = form.get("sample") if "sample" in form else sample_for(doc.kinds[0], doc.routes, runtime.flows)
    return pages.page(
        request,
        "mapping.html",
        admin,
        code=code or (400 if problems else 200),
        doc=doc,
        text=text,
        listing=listing(text, problems, doc.path),
        problems=problems,
        checked=checked,
        preview=preview,
        outcome=outcome,
        base=form.get("base") or (doc.live.revision if doc.live else 0),
        note=form.get("note", ""),
        sample=sample or "",
        record=form.get("record", ""),
        history=mapping_versions.history(_documents(runtime), doc.name),
        offer=offer,
        rows=max(12, min(48, text.count("\n") + 3)),
    )


def _offer(runtime: Runtime, doc: mapping_versions.DocumentView, version_id: str) -> dict[str, Any] | None:
    """The replay a page offers for the events ``version_id`` planned (none for the live version)."""
    if not mapping_versions.VERSION_PATTERN.match(version_id or "") or (doc.live and doc.live.version == version_id):
        return None
    docs = _documents(runtime)
    planned = mapping_versions.planned_with(docs, doc.name, version_id)
    if not planned:
        return None
    return {"version": version_id, "planned": planned, "revisions": _revisions(docs, doc.name, version_id)}


def _revisions(docs: StoreDocuments, name: str, version_id: str) -> str:
    """``revision 2 (91547ab3ef0c)``: how the pages name a version."""
    numbers = mapping_versions.revisions_with(docs, name, version_id)
    label = (
        "revisions " + ", ".join(map(str, numbers))
        if len(numbers) > 1
        else f"revision {numbers[0]}"
        if numbers
        else "version"
    )
    return f"{label} ({version_id})"


def _version_pages(router: APIRouter, pages: Renderer, runtime: Runtime) -> None:
    @router.get("/{name}/revisions/{revision}")
    def revision_page(request: Request, name: str, revision: int, admin: PageAdmin) -> Response:
        doc = _known(runtime, name)
        chosen = mapping_versions.version(_documents(runtime), name, revision) if 0 < revision <= MAX_REVISION else None
        if chosen is None:
            return pages.page(request, "not_found.html", admin, code=404, what=f"revision {revision} of {name}")
        return pages.page(
            request,
            "mapping_version.html",
            admin,
            doc=doc,
            v=chosen,
            listing=listing(chosen.content, [], doc.path),
            offer=_offer(runtime, doc, chosen.version),
        )

    @router.post("/{name}/rollback")
    async def rollback(request: Request, name: str, admin: PageAdmin) -> Response:
        form = await read_form(request)
        check_form_csrf(admin, form)
        doc = _known(runtime, name)
        revision = int(form["revision"]) if form.get("revision", "").isdigit() else 0
        outcome = await run_in_threadpool(
            mapping_versions.rollback, _documents(runtime), name, revision, actor=admin.actor, note=form.get("note", "")
        )
        if not outcome.ok:
            back = f"/admin/mappings/{quote(name)}/revisions/{revision}"
            return redirect(back, "; ".join([outcome.message, *outcome.problems]))
        previous = doc.live.version if doc.live else ""
        return redirect(f"/admin/mappings/{quote(name)}?replay={previous}", outcome.message)

    @router.post("/{name}/replay")
    async def replay(request: Request, name: str, admin: PageAdmin) -> Response:
        form = await read_form(request)
        check_form_csrf(admin, form)
        doc = _known(runtime, name)
        version_id = form.get("version", "")
        if not mapping_versions.VERSION_PATTERN.match(version_id):
            raise HTTPException(400, "version: twelve hex digits")
        dry_run = form.get("dry_run") == "1"
        lines: list[str] = []
        summaries = await run_in_threadpool(_replay, runtime, doc, version_id, admin.actor, dry_run, lines)
        if not dry_run:
            runtime.dispatcher.wake()
            done = sum(s.enqueued for s in summaries.values())
            events = sum(s.events for s in summaries.values())
            named = _revisions(_documents(runtime), name, version_id)
            message = f"replayed {events} event(s) planned with {named}: {done} operation(s) enqueued"
            return redirect(f"/admin/mappings/{quote(name)}", message)
        named = _revisions(_documents(runtime), name, version_id)
        return pages.page(
            request,
            "mapping_replay.html",
            admin,
            doc=doc,
            version=version_id,
            named=named,
            summaries=summaries,
            lines=lines,
        )


def _replay(
    runtime: Runtime, doc: mapping_versions.DocumentView, version_id: str, actor: str, dry_run: bool, lines: list[str]
) -> dict[str, Any]:
    def shown(event: InboxEvent, op: NewOperation) -> None:
        if len(lines) < PLANNED_SHOWN:
            lines.append(planned_line(event.id, op))

    return mapping_versions.replay_version(
        _documents(runtime),
        doc.name,
        version_id,
        routes=runtime.routes,
        flows=runtime.flows,
        adapters=runtime.adapters,
        actor=actor,
        dry_run=dry_run,
        on_planned=shown if dry_run else None,
    )
