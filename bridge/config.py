"""Configuration: `config/bridge.yaml` declared once as pydantic models, every problem reported at once.

Loading order: YAML -> `${ENV}` / `${ENV:-default}` substitution in string values -> environment overrides
(`BRIDGE_DATA_DIR`, `BRIDGE_DATABASE_URL`, `BRIDGE_AZURE_TOKEN`, `BRIDGE_ADMIN_TOKEN`,
`BRIDGE_LOG_LEVEL`) -> validation. Each
problem names its YAML path and, where the key exists in the file, `file:line`.
"""

from __future__ import annotations

import difflib
import os
import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from bridge.errors import ConfigError
from bridge.validation import index_lines, where

DEFAULT_CONFIG_PATH = Path("config/bridge.yaml")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServerSettings(_Strict):
    """The HTTP edge (docs/SECURITY.md says what each limit defends against)."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(1_048_576, gt=0, description="request bodies larger than this get 413")
    header_timeout_seconds: float = Field(10.0, gt=0, le=300, description="headers must arrive within this")
    body_timeout_seconds: float = Field(30.0, gt=0, le=600, description="a body must arrive within this (408)")
    keep_alive_seconds: int = Field(5, ge=1, le=300, description="an idle kept-alive connection is closed")
    max_connections: int = Field(1024, ge=16, description="open connections; more are answered 503 and closed")
    auth_failures_burst: int = Field(20, ge=1, description="failed authentications a client may make at once")
    auth_failures_per_minute: float = Field(10.0, gt=0, description="then this many a minute (else 429)")
    shutdown_grace_seconds: float = Field(8.0, gt=0, le=60)
    public_url: str | None = Field(
        None, description="the bridge's address as the public sees it (behind a proxy): the status feed's links"
    )
    ingest_priority_rate: float = Field(
        200.0, gt=0, description="above this many webhook events/s, planning and delivery yield to accepting"
    )


class StoreSettings(_Strict):
    url: str | None = Field(None, description="SQLAlchemy URL; default is SQLite in data_dir")
    auto_migrate: bool = Field(True, description="`bridge run` applies pending migrations itself")
    pool_size: int = Field(10, ge=1)


class DispatcherSettings(_Strict):
    workers: int = Field(16, ge=1, le=256, description="deliveries in flight per process")
    batch_size: int = Field(64, ge=1, le=1000)
    idle_poll_seconds: float = Field(0.5, gt=0)
    coalesce_seconds: float = Field(0.003, ge=0, le=0.1, description="wait to record outcomes in batches")
    lease_seconds: float = Field(120.0, gt=1, description="a crashed worker's rows are claimed again after this")
    max_attempts: int = Field(
        20, ge=1, description="tries (in-process ones too) before the dead letters (docs/operations.md: how long)"
    )
    max_age_seconds: float = Field(86_400.0, gt=0, description="give up (dead letter) after this long")
    backoff_initial_seconds: float = Field(1.0, gt=0)
    backoff_max_seconds: float = Field(300.0, gt=0)
    backoff_jitter_seconds: float = Field(1.0, ge=0)
    inline_retries: int = Field(
        4, ge=0, le=50, description="transient failures retried at once in-process before the lease goes back"
    )
    inline_backoff_seconds: float = Field(
        0.02, ge=0, le=5, description="first in-process wait (doubling, full jitter); a Retry-After is used as given"
    )
    inline_budget_seconds: float = Field(
        3.0, ge=0, le=60, description="no in-process retry starts after this long (lease_seconds / 4 at most)"
    )


class LogSettings(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool | Literal["auto"] = Field(
        "auto", alias="json", description="auto: JSON lines unless stderr is a terminal (then readable lines)"
    )


class AzureSettings(_Strict):
    """Azure Monitor webhook authentication: shared tokens, and/or Azure AD secure webhooks (a JWT checked against
    the JWKS). With a JWKS the issuer and audience are required: a token any tenant could mint must not pass."""

    tokens: list[SecretStr] = Field(default_factory=list, description="accepted webhook tokens (rotation)")
    jwks_url: str | None = None
    jwt_issuer: str | None = Field(None, description="required with jwks_url, e.g. https://sts.windows.net/<tenant>/")
    jwt_audience: str | None = Field(None, description="required with jwks_url: the app ID URI or client id")

    @model_validator(mode="after")
    def _jwt_complete(self) -> AzureSettings:
        if self.jwks_url and not (self.jwt_issuer and self.jwt_audience):
            missing = [name for name in ("jwt_issuer", "jwt_audience") if not getattr(self, name)]
            raise ValueError(f"jwks_url needs {' and '.join(missing)} too: without it any issuer would be accepted")
        return self


ADMIN_NAME = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")
SHARED_ADMIN = "admin-api"
RESERVED_ADMIN_NAMES = frozenset({"bridge", "scheduler", "cli"})  # actors the bridge itself writes


class AdminSettings(_Strict):
    """Admin tokens, each named for the person who holds it (the audit records the name): ``{alice: token}``.
    The older list form still works, every token in it shared and audited as ``admin-api``."""

    tokens: dict[str, SecretStr] | list[SecretStr] = Field(
        default_factory=dict, description="admin name -> token (or a list of shared tokens); none = disabled"
    )

    @field_validator("tokens", mode="before")
    @classmethod
    def _named_and_distinct(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [t for t in value if t != ""]  # `${VAR:-}` left empty: no token
        if not isinstance(value, dict):
            raise ValueError("give a mapping of admin name -> token, e.g. {alice: ${BRIDGE_ADMIN_TOKEN_ALICE}}")
        for name in value:
            if not (isinstance(name, str) and ADMIN_NAME.match(name)) or name in RESERVED_ADMIN_NAMES:
                raise ValueError(
                    f"{name!r} is not a usable admin name: lowercase letters, digits, '.', '_' and '-', starting with "
                    f"a letter, at most 64 characters, and not {', '.join(sorted(RESERVED_ADMIN_NAMES))}"
                )
        named = {name: token for name, token in value.items() if token != ""}
        holders: dict[Any, list[str]] = {}
        for name, token in named.items():
            if isinstance(token, str):  # anything else is pydantic's to refuse
                holders.setdefault(token, []).append(name)
        shared = [" and ".join(names) for names in holders.values() if len(names) > 1]
        if shared:
            raise ValueError(f"{'; '.join(shared)} have the same token: each admin needs their own")
        return named

    def named_tokens(self) -> list[tuple[str, str]]:
        """(name, token) for every token; a list's tokens are all named ``admin-api``."""
        if isinstance(self.tokens, list):
            return [(SHARED_ADMIN, t.get_secret_value()) for t in self.tokens]
        return [(name, t.get_secret_value()) for name, t in self.tokens.items()]

    def secret_paths(self) -> list[tuple[str, str]]:
        """(YAML path, token) for every token, for the secrets check and the log filter."""
        items = enumerate(self.tokens) if isinstance(self.tokens, list) else self.tokens.items()
        return [(f"admin.tokens.{key}", t.get_secret_value()) for key, t in items]


class TargetSettings(BaseModel):
    """A target system; `kind` picks the adapter, whose own Settings model validates the rest."""

    model_config = ConfigDict(extra="allow")
    kind: str


class RouteSettings(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    kind: str = Field(description="the flow: forward, azure-alert, ...")
    target: str
    enabled: bool = True
    mapping: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class BridgeConfig(_Strict):
    data_dir: Path = Path("data")
    mappings_dir: Path = Path("config/mappings")
    server: ServerSettings = Field(default_factory=ServerSettings)  # type: ignore[arg-type]
    store: StoreSettings = Field(default_factory=StoreSettings)  # type: ignore[arg-type]
    dispatcher: DispatcherSettings = Field(default_factory=DispatcherSettings)  # type: ignore[arg-type]
    log: LogSettings = Field(default_factory=LogSettings)  # type: ignore[arg-type]
    azure: AzureSettings = Field(default_factory=AzureSettings)  # type: ignore[arg-type]
    admin: AdminSettings = Field(default_factory=AdminSettings)
    targets: dict[str, TargetSettings] = Field(default_factory=dict)
    routes: list[RouteSettings] = Field(default_factory=list)

    @field_validator("routes")
    @classmethod
    def _unique_route_names(cls, routes: list[RouteSettings]) -> list[RouteSettings]:
        names = [r.name for r in routes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"route names must be unique; repeated: {', '.join(dupes)}")
        return routes

    def keeps_own_keys(self, route: str) -> bool:
        """True for an azure-alert route after the first one in the file: its flow state, links and redelivery
        keys (of its alerts, and of the incident changes it polls or is pushed) are its own, so it never merges
        into another route's incidents; the first keeps them as they always were (no migration)."""
        names = [r.name for r in self.routes if r.kind == "azure-alert"]
        return route in names[1:]

    @property
    def database_url(self) -> str:
        if self.store.url:
            return self.store.url
        return f"sqlite:///{(self.data_dir / 'bridge.db').resolve()}"

    def secrets(self) -> list[str]:
        """Every secret value in the configuration, so the log filter can mask them (see config_secrets)."""
        from bridge.config_secrets import secret_values

        return secret_values(self)


# --- loading -----------------------------------------------------------------------------------------


def load_config(path: Path | str | None = None, *, environ: Mapping[str, str] | None = None) -> BridgeConfig:
    """Load and validate; raise ConfigError listing every problem with its file:line and key path, in the
    order of the file. A key whose ``${VARIABLE}`` is unset gets that one problem, not a second one about the
    empty value it then holds."""
    env = os.environ if environ is None else environ
    path = Path(path or env.get("BRIDGE_CONFIG") or DEFAULT_CONFIG_PATH)
    raw, lines = _read_yaml(path)
    problems: list[str] = []
    unset: set[tuple[str, ...]] = set()
    data = _substitute(raw, env, (), problems, lines, path, unset)
    _apply_env_overrides(data, env)
    _check_targets(data, problems, lines, path, unset)
    try:
        config = BridgeConfig.model_validate(data)
    except ValidationError as exc:
        errors = [e for e in exc.errors() if not _knock_on(e["loc"], unset)]
        problems.extend(_describe(err, lines, path) for err in errors)
    if problems:
        raise ConfigError(_in_file_order(problems, path))
    return _resolve_paths(config, path)


def _knock_on(loc: tuple[Any, ...], unset: set[tuple[str, ...]]) -> bool:
    """True for a problem at (or under) a key whose environment variable is unset: already reported."""
    parts = tuple(str(p) for p in loc)
    return any(parts[: len(u)] == u for u in unset)


def _in_file_order(problems: list[str], path: Path) -> list[str]:
    """Problems sorted by their line in ``path`` (those without a line last, in the order they came)."""
    at = re.compile(rf"^{re.escape(str(path))}:(\d+):")

    def line(problem: str) -> float:
        found = at.match(problem)
        return int(found.group(1)) if found else float("inf")

    return sorted(problems, key=line)


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read configuration: {exc.strerror}"]) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError([f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: the top level must be a mapping of settings"])
    return data, index_lines(node)


def _where(path: Path, lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> str:
    return where(path, lines, loc)


def _substitute(
    value: Any,
    env: Mapping[str, str],
    loc: tuple[str, ...],
    problems: list[str],
    lines: dict[tuple[str, ...], int],
    path: Path,
    unset: set[tuple[str, ...]],
) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, env, (*loc, str(k)), problems, lines, path, unset) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env, (*loc, str(i)), problems, lines, path, unset) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append(f"{_where(path, lines, loc)}: {'.'.join(loc)}: environment variable {name} is not set")
        unset.add(loc)
        return ""

    return _ENV_REF.sub(replace, value)


def _apply_env_overrides(data: dict[str, Any], env: Mapping[str, str]) -> None:
    if env.get("BRIDGE_DATA_DIR"):
        data["data_dir"] = env["BRIDGE_DATA_DIR"]
    if env.get("BRIDGE_DATABASE_URL"):
        data.setdefault("store", {})["url"] = env["BRIDGE_DATABASE_URL"]
    if env.get("BRIDGE_LOG_LEVEL"):
        data.setdefault("log", {})["level"] = env["BRIDGE_LOG_LEVEL"].upper()
    token = env.get("BRIDGE_AZURE_TOKEN")
    if token:
        azure = data.setdefault("azure", {}) or {}
        data["azure"] = azure
        tokens = [t for t in (azure.get("tokens") or []) if t]
        azure["tokens"] = [token, *[t for t in tokens if t != token]]
    elif isinstance(data.get("azure"), dict) and data["azure"].get("tokens"):
        data["azure"]["tokens"] = [t for t in data["azure"]["tokens"] if t]
    admin_token = env.get("BRIDGE_ADMIN_TOKEN")
    if admin_token:
        admin = data.setdefault("admin", {}) or {}
        data["admin"] = admin
        admin["tokens"] = _with_shared_token(admin.get("tokens"), admin_token)


def _with_shared_token(tokens: Any, token: str) -> Any:
    """`BRIDGE_ADMIN_TOKEN` added to `admin.tokens`: first in a list; named ``admin-api`` in a mapping (unless
    the mapping names that token already)."""
    if isinstance(tokens, dict):
        return tokens if token in tokens.values() else {**tokens, SHARED_ADMIN: token}
    return [token, *[t for t in (tokens or []) if t and t != token]]


def _check_targets(
    data: dict[str, Any],
    problems: list[str],
    lines: dict[tuple[str, ...], int],
    path: Path,
    unset: set[tuple[str, ...]],
) -> None:
    """Validate each target's settings with its adapter's own model, and each route's target name."""
    from bridge.adapters import settings_model

    targets = data.get("targets") or {}
    if not isinstance(targets, dict):
        return
    for name, target in targets.items():
        loc: tuple[str, ...] = ("targets", str(name))
        if not isinstance(target, dict) or "kind" not in target:
            continue
        try:
            model = settings_model(str(target["kind"]))
        except KeyError as exc:
            problems.append(f"{_where(path, lines, (*loc, 'kind'))}: {'.'.join(loc)}.kind: {exc.args[0]}")
            continue
        if model is None:
            continue
        body = {k: v for k, v in target.items() if k != "kind"}
        try:
            model.model_validate(body)
        except ValidationError as exc:
            errors = [e for e in exc.errors() if not _knock_on((*loc, *e["loc"]), unset)]
            problems.extend(_describe(err, lines, path, prefix=loc, model=model) for err in errors)
    for i, route in enumerate(data.get("routes") or []):
        if isinstance(route, dict) and route.get("target") and route["target"] not in targets:
            where = _where(path, lines, ("routes", str(i), "target"))
            problems.append(
                f"{where}: routes.{i}.target: no target named {route['target']!r} "
                f"(defined: {', '.join(sorted(targets)) or 'none'})"
            )


def _describe(
    err: Any,
    lines: dict[tuple[str, ...], int],
    path: Path,
    prefix: tuple[str, ...] = (),
    model: type[BaseModel] | None = None,
) -> str:
    loc = prefix + tuple(str(p) for p in err["loc"])
    dotted = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        known = _keys_at(model or BridgeConfig, [str(p) for p in err["loc"][:-1]])
        close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{_where(path, lines, loc)}: {dotted}: unknown key {loc[-1]!r}{hint}"
    return f"{_where(path, lines, loc)}: {dotted}: {err['msg']}"


def _keys_at(model: type[BaseModel], loc: list[str]) -> list[str]:
    """The keys the settings at ``loc`` (a pydantic error's location, inside ``model``) may have."""
    current: Any = model
    parts = list(loc)
    while True:
        current = _model_in(current, parts)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if not parts:
                return [f.alias or name for name, f in current.model_fields.items()]
            name = parts.pop(0)
            fields = current.model_fields
            field = fields.get(name) or next((f for f in fields.values() if f.alias == name), None)
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) in (list, dict) and parts:
            parts.pop(0)  # a list index or a mapping's key
            current = get_args(current)[-1]
        else:
            return []


def _model_in(annotation: Any, parts: list[str]) -> Any:
    """The settings model inside ``X | None`` or a tagged union (pydantic puts the tag in the location: it is
    taken from ``parts``), or the annotation as it is."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return annotation
    models = [a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
    if len(models) <= 1 or not parts or any(parts[0] in m.model_fields for m in models):
        return models[0] if models else annotation
    tag = parts.pop(0)
    for member in models:
        for field in member.model_fields.values():
            if get_origin(field.annotation) is Literal and tag in get_args(field.annotation):
                return member
    return annotation


def _resolve_paths(config: BridgeConfig, path: Path) -> BridgeConfig:
    """Relative mappings_dir is relative to the config file's folder's parent project, like the example."""
    mappings = config.mappings_dir
    if not mappings.is_absolute() and not mappings.exists():
        candidate = path.parent / mappings.name
        if candidate.exists():
            config = config.model_copy(update={"mappings_dir": candidate})
    return config


def summary(config: BridgeConfig) -> str:
    """The one-line summary `bridge config check` prints for a valid file."""
    db = "postgresql" if config.database_url.startswith("postgresql") else "sqlite"
    return (
        f"configuration valid: {len(config.routes)} route(s), {len(config.targets)} target(s), "
        f"store {db}, listening on {config.server.host}:{config.server.port}"
    )
