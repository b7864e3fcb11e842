"""The `forward` route kind: each JSON event sent on to an HTTP target, as it is or reshaped by a field map."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from bridge.config import BridgeConfig, RouteSettings
from bridge.engine.flows import BaseFlow, Flow, PlanContext, Planned, json_object, version_of
from bridge.errors import MappingError
from bridge.mappings.documents import DocumentSource
from bridge.mappings.dsl import LiveFieldMap, apply_field_map
from bridge.store.inbox import InboxEvent


class ForwardFlow(BaseFlow):
    """Forwards each JSON event to an HTTP target, ordered per record: as it is, or reshaped by a field map.

    Options: ``path`` (where to POST, default ``/``), ``record_field`` (the payload field naming the record:
    its operations are delivered one at a time, in order), ``action`` (post, put or patch). The route's
    ``mapping`` may name a DSL field map in ``mappings_dir``: the body sent is then that map applied to the
    event (hot-reloaded from its live version in the store; the hash of its text is the version each operation
    records).
    """

    def __init__(self, route: RouteSettings, fields: LiveFieldMap | None = None) -> None:
        self.route = route
        self.path = str(route.options.get("path", "/"))
        self.record_field = route.options.get("record_field")
        self.action = str(route.options.get("action", "post"))
        self.fields = fields
        self.options_version = version_of(route.options)
        #: held while a plan runs: a new version of the map is taken between plans, never during one
        self.lock = threading.RLock()

    @property
    def version(self) -> str:
        """The live field map's version (a hash of its text), or of the options without a map."""
        return self.fields.version if self.fields else self.options_version

    @property
    def reload_error(self) -> str | None:
        """Why the last edit of the field map was refused (shown on the admin overview)."""
        return self.fields.reload_error if self.fields else None

    def reload_if_changed(self) -> None:
        if self.fields is not None:
            with self.lock:
                self.fields.reload_if_changed()

    @property
    def previewable(self) -> bool:
        return self.fields is not None

    def preview(self, sample: Any) -> dict[str, Any] | None:
        if self.fields is None:
            return None
        body: dict[str, Any] = self.reshape(dict(json_object(sample)))
        return body

    def plan(self, event: InboxEvent, ctx: PlanContext) -> list[Planned]:
        try:
            body = json.loads(event.payload)
        except json.JSONDecodeError as exc:
            raise MappingError(f"event {event.id} is not JSON: {exc}") from exc
        record = event.record_key or (str(body.get(self.record_field, "")) if self.record_field else "")
        key = f"{self.route.name}:{record or event.id}"
        with self.lock:  # the body and the version recorded with it come from one version of the map
            payload = {"path": self.path, "body": self.reshape(body)}
            return [Planned(action=self.action, payload=payload, target_key=key, version=self.version)]

    def reshape(self, body: Any) -> Any:
        """The body to send: the event itself, or the field map applied to it (the live version)."""
        if self.fields is None:
            return body
        with self.lock:
            self.fields.reload_if_changed()
            if not isinstance(body, Mapping):
                raise MappingError(f"{self.fields.label}: the event is not a JSON object, so no field map applies")
            return apply_field_map(self.fields.field_map, body, label=self.fields.label)


def build(route: RouteSettings, config: BridgeConfig, documents: DocumentSource | None = None) -> Flow:
    if route.mapping is None:
        return ForwardFlow(route)
    path = config.mappings_dir / f"{route.mapping}.yaml"
    return ForwardFlow(route, LiveFieldMap(path, route=route.name, source=documents, kind="forward"))
