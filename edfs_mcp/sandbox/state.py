"""All in-memory sandbox data, seeded from ``seed``.

Handlers run on the server's event loop; tests read and change the state from their own thread. Every
mutation holds ``lock`` and readers get copies, so neither side sees half a change.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import Counter, deque
from datetime import UTC, datetime
from typing import Any

from joserfc.jwk import RSAKey

from . import seed
from .faults import Faults
from .oauth_store import OAuthStore

REQUEST_LOG_SIZE = 10_000
DEFAULT_TOKEN_LIFETIME = 3600
DEFAULT_DEVICE_CODE_LIFETIME = 600
DEFAULT_DEVICE_POLL_INTERVAL = 5
DEFAULT_AUTHORIZATION_CODE_LIFETIME = 60
DEFAULT_REFRESH_TOKEN_LIFETIME = 30 * 24 * 3600


def now_iso() -> str:
    """The current time as the API writes it (ISO 8601 with offset)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class SandboxState:
    """Organizations, iTwins, subscriptions, timers, systems, role assignments, counters and faults.

    ``SandboxState()`` is seeded; ``SandboxState.seeded()`` says so out loud.

    OAuth settings (all restored by ``reset``): ``token_lifetime_seconds`` (access tokens),
    ``device_code_lifetime_seconds`` and ``device_poll_interval_seconds`` (device flow),
    ``authorization_code_lifetime_seconds``, ``refresh_token_lifetime_seconds``,
    ``device_flow_enabled`` (off: discovery omits the device endpoint, which then answers 404) and
    ``auto_approve`` (device and authorization requests are approved as ``seed.AUTO_APPROVE_USER``;
    ``reset`` restores ``auto_approve_default``, the value the state was built with).
    """

    itwins: dict[str, seed.ITwinSeed]
    subscriptions: dict[str, dict[str, dict[str, Any]]]  # org -> uniqueName -> subscription
    timers: dict[str, dict[str, dict[str, Any]]]  # iTwin -> timer id -> EdfTimerDto
    systems: dict[str, dict[str, dict[str, Any]]]  # iTwin -> record id -> system (no credentials)
    credentials: dict[str, dict[str, str]]  # record id -> credentials; write-only
    assignments: dict[tuple[str, str], dict[str, set[str]]]  # (iTwin, package) -> iTwin role -> package roles
    members: dict[str, dict[str, set[str]]]  # iTwin -> identity -> iTwin role names (Access Control)

    def __init__(self, *, auto_approve: bool = False) -> None:
        self.lock = threading.RLock()
        self.auto_approve_default = auto_approve
        # Settings, counters and seed data are set by reset(), called last.
        # Issued grants (refresh tokens, pending codes) outlive reset(), as access tokens do.
        self.oauth = OAuthStore()
        self.faults = Faults()
        self.writes: Counter[str] = Counter()
        self.requests: deque[tuple[str, str]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.token_requests: Counter[str] = Counter()
        # Tokens carry the generation they were issued in; expire_issued_tokens() moves it on,
        # so every earlier token fails like an expired one (the "token expiry mid-session" fault).
        self.token_generation = 0
        # One key per state, generated at start; tokens from another sandbox instance fail to verify.
        self.signing_key = RSAKey.generate_key(
            2048, parameters={"kid": uuid.uuid4().hex, "use": "sig", "alg": "RS256"}
        )
        self.identities = {i.id: i for i in seed.IDENTITIES}
        self.clients = {c.client_id: c for c in seed.CLIENTS}
        self.packages = {p.unique_name: p for p in seed.PACKAGES}
        self.reset()

    def expire_issued_tokens(self) -> None:
        """Every access token issued so far stops working now, as if it had expired."""
        self.token_generation += 1

    @classmethod
    def seeded(cls) -> SandboxState:
        return cls()

    def reset(self) -> None:
        """Back to the seed data; counters, request log, faults and OAuth settings are reset too.

        Grants already issued (refresh tokens, device and authorization codes) are kept, as are
        access tokens: a signed-in client stays signed in. ``oauth.clear()`` forgets them.
        """
        with self.lock:
            self.token_lifetime_seconds = DEFAULT_TOKEN_LIFETIME
            self.device_code_lifetime_seconds = DEFAULT_DEVICE_CODE_LIFETIME
            self.device_poll_interval_seconds = DEFAULT_DEVICE_POLL_INTERVAL
            self.authorization_code_lifetime_seconds = DEFAULT_AUTHORIZATION_CODE_LIFETIME
            self.refresh_token_lifetime_seconds = DEFAULT_REFRESH_TOKEN_LIFETIME
            self.device_flow_enabled = True
            self.auto_approve = self.auto_approve_default
            self.faults.clear()
            self.writes.clear()
            self.requests.clear()
            self.abandoned = 0
            self.token_requests.clear()
            self.itwins = {t.id: t for t in seed.ITWINS}
            self.subscriptions = {o: {} for o in seed.ORGANIZATIONS}
            for org, name, sub_id, by, by_name, on in seed.SUBSCRIPTIONS:
                self.subscriptions[org][name] = {
                    "subscriptionId": sub_id,
                    "subscribedBy": by,
                    "subscribedByName": by_name,
                    "subscribedOn": on,
                }
            self.timers = {t.id: {} for t in seed.ITWINS}
            for itwin_id, timer in seed.TIMERS:
                self.timers[itwin_id][str(timer["id"])] = copy.deepcopy(timer)
            self.systems = {t.id: {} for t in seed.ITWINS}
            self.credentials = {}
            for rec_id, itwin_id, name, system_id, system_type, creds in seed.SYSTEMS:
                self.systems[itwin_id][rec_id] = {
                    "id": rec_id,
                    "systemName": name,
                    "organizationId": self.itwins[itwin_id].organization_id,
                    "systemId": system_id,
                    "systemType": system_type,
                    "lastChange": seed.SYSTEMS_LAST_CHANGE,
                    "lastChangeBy": seed.IDENTITY_ADMIN,
                    "lastChangeByName": "Avery Admin",
                }
                self.credentials[rec_id] = dict(creds)
            self.assignments = {}
            for itwin_id, package, role_name, role_ids in seed.ROLE_ASSIGNMENTS:
                per_package = self.assignments.setdefault((itwin_id, package), {})
                per_package[seed.itwin_role_id(itwin_id, role_name)] = set(role_ids)
            self.members = {t.id: {} for t in seed.ITWINS}
            for who in seed.IDENTITIES:
                for itwin_id, role_names in who.itwin_roles.items():
                    self.members[itwin_id][who.id] = set(role_names)

    # --- lookups (IDs are compared lower-case, as GUIDs are case-insensitive) ----------------------

    def itwin(self, itwin_id: str) -> seed.ITwinSeed | None:
        return self.itwins.get(itwin_id.lower())

    def org_of(self, itwin_id: str) -> str | None:
        itwin = self.itwin(itwin_id)
        return itwin.organization_id if itwin else None

    def subscribes(self, org_id: str | None, unique_name: str) -> bool:
        return org_id is not None and unique_name in self.subscriptions.get(org_id, {})

    def package_for_itwin(self, itwin_id: str, unique_name: str) -> seed.PackageSeed | None:
        """The package if the iTwin exists and its owning organization subscribes to it."""
        if not self.subscribes(self.org_of(itwin_id), unique_name):
            return None
        return self.packages.get(unique_name)

    def package_json(self, org_id: str, unique_name: str, details: bool = False) -> dict[str, Any]:
        pkg = self.packages[unique_name]
        sub = self.subscriptions[org_id][unique_name]
        body: dict[str, Any] = {
            "subscriptionId": sub["subscriptionId"],
            "version": pkg.version,
            "uniqueName": pkg.unique_name,
            "name": pkg.name,
            "description": pkg.description,
            "subscribedBy": sub["subscribedBy"],
            "subscribedByName": sub["subscribedByName"],
            "subscribedOn": sub["subscribedOn"],
            "projectStage": pkg.project_stage,
            "isOdata": pkg.is_odata,
        }
        if details:
            body.update(
                lastChange=pkg.last_change,
                inputExample=pkg.input_example,
                responseExample=pkg.response_example,
            )
        return body

    def timers_of(self, itwin_id: str) -> list[dict[str, Any]]:
        """The iTwin's timers (EdfTimerDto dicts, copies), oldest first."""
        with self.lock:
            return copy.deepcopy(list(self.timers.get(itwin_id.lower(), {}).values()))

    def systems_of(self, itwin_id: str) -> list[dict[str, Any]]:
        """The iTwin's system records (no credentials), oldest first."""
        with self.lock:
            return copy.deepcopy(list(self.systems.get(itwin_id.lower(), {}).values()))

    def missing_systems(self, itwin_id: str, package: seed.PackageSeed) -> list[seed.SystemReq]:
        """The package's required systems that the iTwin has not configured (a run cannot reach them)."""
        configured = {system["systemId"].casefold() for system in self.systems_of(itwin_id)}
        return [
            need
            for need in package.systems
            if need.required == "Yes" and need.system_id.casefold() not in configured
        ]

    # --- Access Control: who holds which iTwin role, and what that gives --------------------------

    def set_itwin_roles(self, itwin_id: str, identity_id: str, role_names: set[str]) -> None:
        """Make ``identity_id`` hold exactly ``role_names`` on the iTwin (Access Control membership)."""
        with self.lock:
            self.members.setdefault(itwin_id.lower(), {})[identity_id] = set(role_names)

    def itwin_roles_of(self, identity_id: str, itwin_id: str) -> set[str]:
        """The role IDs ``identity_id`` holds on the iTwin."""
        with self.lock:
            names = self.members.get(itwin_id.lower(), {}).get(identity_id, set())
            return {seed.itwin_role_id(itwin_id, name) for name in names}

    def permissions_on(self, identity_id: str, itwin_id: str) -> frozenset[str]:
        """The iTwin permissions ``identity_id`` holds there: those of its iTwin roles."""
        roles = seed.itwin_roles(itwin_id)
        held = self.itwin_roles_of(identity_id, itwin_id)
        return frozenset(p for role_id in held if role_id in roles for p in roles[role_id].permissions)

    def itwins_of(self, identity_id: str) -> list[str]:
        """The iTwins where ``identity_id`` holds any iTwin role."""
        with self.lock:
            return [itwin_id for itwin_id, held in self.members.items() if held.get(identity_id)]

    def holds_package_role(
        self, identity_id: str, itwin_id: str, unique_name: str, package_role: str
    ) -> bool:
        """Whether one of the identity's iTwin roles there has ``package_role`` for the package."""
        held = self.itwin_roles_of(identity_id, itwin_id)
        with self.lock:
            assigned = self.assignments.get((itwin_id.lower(), unique_name), {})
            return any(package_role in assigned.get(role_id, set()) for role_id in held)

    def count_write(self, kind: str) -> None:
        with self.lock:
            self.writes[kind] += 1

    def count_abandoned(self) -> None:
        """A request whose client disconnected while it waited (latency fault), never processed."""
        with self.lock:
            self.abandoned += 1

    def record_request(self, method: str, raw_path: str) -> None:
        with self.lock:
            self.requests.append((method, raw_path))

    def count_token_request(self, grant_type: str) -> None:
        with self.lock:
            self.token_requests[grant_type] += 1
