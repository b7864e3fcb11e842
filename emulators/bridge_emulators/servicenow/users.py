"""The instance's API users and OAuth clients.

Two users by default: ``admin``/``admin`` (may write) and ``itil_readonly``/``readonly`` (may only read, so a
403 can be exercised); one OAuth client ``bridge``/``bridge-secret``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

# The sys_id the docs' examples give the admin user (c_TableAPI.md, POST /now/table example: opened_by).
ADMIN_SYS_ID = "6816f79cc0a8016401c5a33be04be441"


@dataclass(frozen=True)
class UserAccount:
    """A user who may call the API, and the sys_user record the emulator keeps for it."""

    user_name: str
    password: str
    writable: bool = True
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    sys_id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.sys_id:
            digest = hashlib.md5(self.user_name.encode(), usedforsecurity=False).hexdigest()
            object.__setattr__(self, "sys_id", digest)

    def record(self) -> dict[str, str]:
        """Field values of its sys_user record."""
        return {
            "user_name": self.user_name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email or f"{self.user_name}@example.com",
        }


@dataclass(frozen=True)
class OAuthClient:
    """An OAuth application registry entry; client_credentials tokens act as ``run_as``."""

    client_id: str
    client_secret: str
    run_as: str = "admin"


DEFAULT_USERS: tuple[UserAccount, ...] = (
    UserAccount("admin", "admin", True, "System", "Administrator", sys_id=ADMIN_SYS_ID),
    UserAccount("itil_readonly", "readonly", False, "ITIL", "Read-only"),
)
DEFAULT_CLIENTS: tuple[OAuthClient, ...] = (OAuthClient("bridge", "bridge-secret"),)
