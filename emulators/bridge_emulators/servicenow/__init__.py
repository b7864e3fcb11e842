"""A faithful local emulator of the ServiceNow REST APIs (Table, Attachment, Batch, OAuth) with faults.

Layout, after moto: :mod:`.state`, :mod:`.models`, :mod:`.rules` and :mod:`.accounts` hold the data and the
platform's write rules (the "models"), :mod:`.query` parses encoded queries, the ``*_api`` modules answer
requests (the "responses"), :mod:`.urls` maps paths to them, :mod:`.server` and :mod:`.emulator` put it on
a socket. Each module's docstring names the ServiceNowDocs page it follows.

Choices made where the docs are silent (each is what a real instance does, as far as it is known):

* strings of columns up to 255 characters (varchar) are truncated to their max length (correlation_id 100,
  short_description 160); longer columns keep everything (KB0685779: max length is not enforced there);
* an update that changes nothing is no update: sys_mod_count and sys_updated_on stay;
* the negative operators (``!=``, ``NOT IN``, ``NOTLIKE``) also match empty values; ``=``/``IN`` are
  case-sensitive, the LIKE family is not;
* resolving or closing an incident needs close_code and close_notes (403 "Data Policy Exception"), as the
  platform's close data policy; ``data_policies=False`` turns it off;
* account_path follows ``account_parent`` (not ``parent``); account codes are ``~~~~1``, ``~~~~2``...;
  deleting a parent clears its children's account_parent (the reference cascade rule "clear");
* rate limits count per user per one-second window (the platform counts per hour);
* client_credentials tokens act as the client's ``run_as`` user (admin) and carry no refresh token;
* admin endpoints (``/emulator/admin/...``) need no credentials and are never faulted or counted.
"""

from .emulator import ServiceNowEmulator
from .faults import FAULT_KINDS, FaultConfig
from .state import EmulatorState
from .users import DEFAULT_CLIENTS, DEFAULT_USERS, OAuthClient, UserAccount

__all__ = [
    "DEFAULT_CLIENTS",
    "DEFAULT_USERS",
    "FAULT_KINDS",
    "EmulatorState",
    "FaultConfig",
    "OAuthClient",
    "ServiceNowEmulator",
    "UserAccount",
]
