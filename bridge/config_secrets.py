"""Every secret in the configuration, where it is, and whether it is long enough (issue 15, "Secrets in logs").

Two kinds, told apart because the bridge can choose one and not the other:

- **Accepted** secrets are what callers must present to the bridge: `azure.tokens`, `admin.tokens`, a forward
  route's `options.tokens`, a route's `options.push_secret` and `options.webhook_secret`. Anyone on the network
  may guess them, so `bridge config check` refuses one shorter than ``MIN_ACCEPTED`` characters (128 bits
  from `python -c "import secrets; print(secrets.token_urlsafe(24))"` is 32 characters).
- **Presented** secrets are credentials other systems issued to the bridge: every `SecretStr` field of a
  target's settings (passwords, API and OAuth tokens, client secrets) and of a route's mailbox. `config check`
  warns about one shorter than ``MIN_PRESENTED`` characters: it cannot be masked wherever it appears in a log
  line without masking common words too, so it is masked only where it stands as a secret's value.

The log filter gets every value (:func:`secret_values`); which of them it masks anywhere is its own rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr, ValidationError

if TYPE_CHECKING:
    from bridge.config import BridgeConfig

MIN_ACCEPTED = 24
MIN_PRESENTED = 8
ACCEPTED_OPTIONS = frozenset({"tokens", "token", "push_secret", "webhook_secret"})
PRESENTED_OPTIONS = frozenset({"password", "oauth2_token", "client_secret", "api_token", "refresh_token", "secret"})


@dataclass(frozen=True)
class Secret:
    path: str
    value: str
    accepted: bool


def secrets_in(config: BridgeConfig) -> list[Secret]:
    """Every secret value, with its YAML path."""
    found = [Secret(f"azure.tokens.{i}", t.get_secret_value(), True) for i, t in enumerate(config.azure.tokens)]
    found += [Secret(path, value, True) for path, value in config.admin.secret_paths()]
    for name, target in config.targets.items():
        found += [Secret(f"targets.{name}.{p}", v, False) for p, v in _target_secrets(target.kind, target)]
    for index, route in enumerate(config.routes):
        found += list(_option_secrets(route.options, f"routes.{index}.options"))
    return [s for s in found if s.value]


def secret_values(config: BridgeConfig) -> list[str]:
    return [s.value for s in secrets_in(config)]


def too_short(config: BridgeConfig) -> tuple[list[str], list[str]]:
    """(problems, warnings) for `bridge config check`: accepted secrets too short are problems."""
    problems, warnings = [], []
    for secret in secrets_in(config):
        if secret.accepted and len(secret.value) < MIN_ACCEPTED:
            problems.append(
                f"{secret.path} is too short: a secret callers present must be at least {MIN_ACCEPTED} characters "
                f'(it has {len(secret.value)}); generate one with `python -c "import secrets; '
                f'print(secrets.token_urlsafe(24))"`'
            )
        elif not secret.accepted and len(secret.value) < MIN_PRESENTED:
            warnings.append(
                f"{secret.path} is shorter than {MIN_PRESENTED} characters, so the logs mask it only where it "
                "stands as a value (after password= or in an Authorization header), not wherever it appears"
            )
    return problems, warnings


def review(config: BridgeConfig) -> tuple[list[str], list[str]]:
    """(problems, warnings) for `bridge config check` and a starting bridge: :func:`too_short`, and shared admin
    tokens, whose actions the audit cannot tell apart."""
    from bridge.config import SHARED_ADMIN

    problems, warnings = too_short(config)
    if any(name == SHARED_ADMIN for name, _token in config.admin.named_tokens()):
        warnings.append(
            f"a shared admin token (admin.tokens as a list, or BRIDGE_ADMIN_TOKEN) is deprecated: what is done "
            f"with it is audited as `{SHARED_ADMIN}`, not by who did it; name each person's token instead, "
            "e.g. admin: {tokens: {alice: ${BRIDGE_ADMIN_TOKEN_ALICE}}}"
        )
    return problems, warnings


def _target_secrets(kind: str, target: BaseModel) -> Iterator[tuple[str, str]]:
    """`SecretStr` fields of the target's own validated settings model, nested models included."""
    from bridge.adapters import settings_model

    try:
        model = settings_model(kind)
    except KeyError:
        return
    if model is None:
        return
    try:
        settings = model.model_validate({k: v for k, v in target.model_dump().items() if k != "kind"})
    except ValidationError:
        return
    yield from _walk_model(settings, "")


def _walk_model(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, SecretStr):
        yield path, value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk_model(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk_model(item, f"{path}.{index}")


def _option_secrets(options: Mapping[str, Any], path: str) -> Iterator[Secret]:
    """Route options named like secrets, at any depth (a mailbox's password sits in `options.mailbox`)."""
    for key, value in options.items():
        where = f"{path}.{key}"
        if isinstance(value, Mapping):
            yield from _option_secrets(value, where)
        elif key in ACCEPTED_OPTIONS or key in PRESENTED_OPTIONS:
            accepted = key in ACCEPTED_OPTIONS
            items = enumerate(value) if isinstance(value, list) else [(None, value)]
            for index, item in items:
                if isinstance(item, str | int) and str(item):
                    yield Secret(where if index is None else f"{where}.{index}", str(item), accepted)


__all__ = ["MIN_ACCEPTED", "MIN_PRESENTED", "Secret", "review", "secret_values", "secrets_in", "too_short"]
