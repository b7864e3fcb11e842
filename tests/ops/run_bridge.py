"""`python -m tests.ops.run_bridge run ...`: the real `bridge` CLI, with the admin surface and the OpenAPI
additions mounted on the app even while `bridge/server/app.py` does not mount them itself yet (both calls are
idempotent, so this is a plain `bridge run` once it does)."""

from __future__ import annotations

from typing import Any

import bridge.server.app as app_module
from bridge.cli import main
from bridge.server import admin, openapi

_create_app = app_module.create_app


def create_app(runtime: Any, *, manage_runtime: bool = True) -> Any:
    app = _create_app(runtime, manage_runtime=manage_runtime)
    admin.add_routes(app, runtime)
    openapi.install(app)
    return app


app_module.create_app = create_app  # type: ignore[assignment]

if __name__ == "__main__":
    main()
