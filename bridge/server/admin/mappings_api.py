"""The mapping editor's JSON API under `/admin/api/mappings`: the same actions as the pages (issue 22).

List, read, check, preview, save, roll back, and replay what a version planned. A save or rollback that is refused
answers 400 with every problem (``file:line: key.path: message``), 409 when another version was saved since
``base``; nothing is stored either way.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query
from pydantic import BaseModel, Field

from bridge.ops import mapping_preview, mapping_versions
from bridge.ops.documents import StoreDocuments
from bridge.runtime import Runtime
from bridge.server.admin.api import Admin
from bridge.store.mappings import MappingVersion

#: characters, so that a request escaping every one (``\u001f``: six bytes) still fits the server's body limit
MAX_TEXT = 96_000
MAX_SAMPLE = 32_000
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9:._-]{1,128}$", description="A mapping document's name.")]
Revision = Annotated[int, Path(ge=1, le=2**31 - 1)]


class CheckRequest(BaseModel):
    text: str = Field(max_length=MAX_TEXT, description="The YAML text to check.")


class SaveRequest(BaseModel):
    text: str = Field(max_length=MAX_TEXT)
    base: int = Field(ge=0, description="The live revision the edit started from.")
    note: str = Field(max_length=mapping_versions.MAX_NOTE, description="Why (required).")


class RollbackRequest(BaseModel):
    revision: int = Field(ge=1, le=2**31 - 1)
    note: str = Field(max_length=mapping_versions.MAX_NOTE)


class PreviewRequest(BaseModel):
    text: str = Field(max_length=MAX_TEXT)
    sample: str = Field("", max_length=MAX_SAMPLE, description="The input as the route receives it (JSON text).")
    record: str = Field("", max_length=64, description="A target record's sys_id to diff against.")


class ReplayRequest(BaseModel):
    version: str = Field(pattern=r"^[0-9a-f]{12}$", description="The version whose events to plan again.")
    dry_run: bool = True


class Problems(BaseModel):
    problems: list[str]


def build_router(runtime: Runtime) -> APIRouter:
    refused: dict[int | str, dict[str, Any]] = {401: {"description": "no valid token"}}
    router = APIRouter(prefix="/admin/api/mappings", tags=["mappings"], responses=refused)
    _reading(router, runtime)
    _writing(router, runtime)
    return router


def _docs(runtime: Runtime) -> StoreDocuments:
    if runtime.documents is None:
        raise HTTPException(404, {"error": "this bridge has no mapping store"})
    return runtime.documents


def _known(runtime: Runtime, name: str) -> mapping_versions.DocumentView:
    found = mapping_versions.document(_docs(runtime), name)
    if found is None:
        raise HTTPException(404, {"error": f"no mapping named {name!r} is used by a route"})
    return found


def _reading(router: APIRouter, runtime: Runtime) -> None:
    @router.get("", summary="Every mapping a route uses, with its live version")
    def documents(_admin: Admin) -> list[mapping_versions.DocumentView]:
        return mapping_versions.catalog(_docs(runtime))

    @router.get("/{name}", summary="A mapping and its live version", responses={404: {}})
    def document(name: Name, _admin: Admin) -> mapping_versions.DocumentView:
        return _known(runtime, name)

    @router.get("/{name}/versions", summary="A mapping's versions, newest first", responses={404: {}})
    def versions(
        name: Name, _admin: Admin, before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
    ) -> list[MappingVersion]:
        _known(runtime, name)
        return mapping_versions.history(_docs(runtime), name, before=before)

    @router.get("/{name}/versions/{revision}", summary="One version: text, who, when, note, diff", responses={404: {}})
    def version(name: Name, revision: Revision, _admin: Admin) -> MappingVersion:
        _known(runtime, name)
        found = mapping_versions.version(_docs(runtime), name, revision)
        if found is None:
            raise HTTPException(404, {"error": f"{name} has no revision {revision}"})
        return found

    @router.post("/{name}/check", summary="Every problem of a text, as `bridge mappings check` reports it")
    def check(name: Name, _admin: Admin, body: Annotated[CheckRequest, Body()]) -> Problems:
        _known(runtime, name)
        return Problems(problems=_docs(runtime).check(name, mapping_versions.normalized(body.text)))

    @router.post("/{name}/preview", summary="What the edit sends for a sample, beside the live version")
    def preview(name: Name, _admin: Admin, body: Annotated[PreviewRequest, Body()]) -> mapping_preview.EditPreview:
        _known(runtime, name)
        ctx = mapping_preview.Context(runtime.routes, runtime.flows, runtime.adapters)
        text = mapping_versions.normalized(body.text)
        return mapping_preview.preview_edit(
            _docs(runtime), name, text, sample=body.sample, record_id=body.record, ctx=ctx
        )


def _writing(router: APIRouter, runtime: Runtime) -> None:
    @router.post(
        "/{name}/versions",
        status_code=201,
        summary="Save a new version (checked, with a note)",
        responses={400: {"description": "problems; nothing stored"}, 409: {"description": "a newer version"}},
    )
    def save(name: Name, admin: Admin, body: Annotated[SaveRequest, Body()]) -> MappingVersion:
        _known(runtime, name)
        outcome = mapping_versions.save(
            _docs(runtime), name, body.text, base=body.base, actor=admin.actor, note=body.note
        )
        return _stored(outcome)

    @router.post(
        "/{name}/rollback",
        status_code=201,
        summary="Make an earlier version's text the live one (a new version, audited)",
        responses={400: {}, 404: {}},
    )
    def rollback(name: Name, admin: Admin, body: Annotated[RollbackRequest, Body()]) -> MappingVersion:
        _known(runtime, name)
        if mapping_versions.version(_docs(runtime), name, body.revision) is None:
            raise HTTPException(404, {"error": f"{name} has no revision {body.revision}"})
        outcome = mapping_versions.rollback(_docs(runtime), name, body.revision, actor=admin.actor, note=body.note)
        return _stored(outcome)

    @router.post("/{name}/replay", summary="Plan again, with the live version, what a version planned")
    def replay(name: Name, admin: Admin, body: Annotated[ReplayRequest, Body()]) -> dict[str, dict[str, Any]]:
        _known(runtime, name)
        summaries = mapping_versions.replay_version(
            _docs(runtime),
            name,
            body.version,
            routes=runtime.routes,
            flows=runtime.flows,
            adapters=runtime.adapters,
            actor=admin.actor,
            dry_run=body.dry_run,
        )
        if not body.dry_run:
            runtime.dispatcher.wake()
        return {route: summary.as_dict() for route, summary in summaries.items()}


def _stored(outcome: mapping_versions.Outcome) -> MappingVersion:
    if outcome.saved is not None:
        return outcome.saved
    if outcome.newer is not None:
        raise HTTPException(409, {"error": outcome.message, "revision": outcome.newer.revision})
    raise HTTPException(400, {"error": outcome.message, "problems": outcome.problems})
