"""EdfsClient: one async method per EDFS / iTwins operation. Knows HTTP, nothing of MCP.

Long because ``EdfsClient`` has one short method per EDFS / iTwins operation (25 of them); splitting
the class would split the one list of what the API client can do.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2

from edfs_mcp.api._http import (
    DEFAULT_MAX_RESPONSE_BYTES,
    Answer,
    HttpSession,
    Sleep,
    Timeouts,
    WaitCallback,
    target,
)
from edfs_mcp.api.models import (
    EntitySet,
    ITwin,
    ITwinPage,
    ITwinRole,
    Package,
    PackageDetails,
    PackageRole,
    PackageSystem,
    RoleAssignment,
    System,
    SystemDraft,
    SystemTypeProperty,
    Timer,
    TimerDraft,
    Variable,
    entity_set_columns,
)
from edfs_mcp.auth.base import TokenSource
from edfs_mcp.errors import EdfsMcpError, Operation, ServerError

__all__ = ["EdfsClient", "ExecutionPayload", "FoundITwins", "ODataPage"]

LIST_PACKAGES = Operation("list_packages", "list subscribed packages", permission="edfs_projmng")
GET_PACKAGE = Operation("get_package", "get package details", permission="edfs_projmng")
EXECUTE = Operation("execute", "execute package", write=True, permission="edfs_objipexec")
LIST_PACKAGE_SYSTEMS = Operation(
    "list_package_systems", "list the package's system types", permission="edfs_credmng"
)
LIST_SYSTEMS = Operation("list_systems", "list the iTwin's systems", permission="edfs_credmng")
GET_SYSTEM_TYPE = Operation(
    "get_system_type_properties", "read the system type's properties", permission="edfs_credmng"
)
CREATE_SYSTEM = Operation("create_system", "create system", write=True, permission="edfs_credmng")
DELETE_SYSTEM = Operation("delete_system", "delete system", write=True, permission="edfs_credmng")
LIST_ENTITY_SETS = Operation("list_entity_sets", "list OData entity sets", permission="edfs_objipexec")
GET_ODATA_METADATA = Operation("get_odata_metadata", "read OData metadata", permission="edfs_objipexec")
QUERY_ENTITY_SET = Operation("query_entity_set", "query OData entity set", permission="edfs_objipexec")
LIST_TIMERS = Operation("list_timers", "list timers", permission="edfs_listmng")
CREATE_TIMER = Operation("create_timer", "create timer", write=True, permission="edfs_listmng")
DELETE_TIMER = Operation("delete_timer", "delete timer", write=True, permission="edfs_listmng")
TOGGLE_TIMER = Operation("toggle_timer", "toggle timer", write=True, permission="edfs_listmng")
SEARCH_ITWINS = Operation("search_itwins", "search iTwins")
GET_ITWIN = Operation("get_itwin", "get iTwin")
# Where each operation goes (docs/edfs-api.md §4): one template per resource, its parameters named once.
PACKAGE = "/edfs/packages/{uniqueName}"
RUN = "/edfs/itwins/{iTwinId}/packages/{uniqueName}"
PACKAGE_SYSTEMS = RUN + "/systems"
SYSTEM_TYPE = PACKAGE_SYSTEMS + "/{systemType}"
ODATA = RUN + "/odata"
ODATA_METADATA = ODATA + "/$metadata"
ENTITY_SET = ODATA + "/{entitySet}"
ROLES = RUN + "/roles"
SYSTEMS = "/edfs/itwins/{iTwinId}/systems"
SYSTEM = SYSTEMS + "/{id}"
TIMERS = "/edfs/itwins/{iTwinId}/timers"
TIMER = TIMERS + "/{timerId}"
TOGGLE = TIMER + "/toggle"
ITWIN = "/itwins/{iTwinId}"
ITWIN_ROLES = "/accesscontrol/itwins/{iTwinId}/roles"
# An iTwin's name only labels a result: one try, waited for this long at most, so the result it
# labels is never late for it (the call goes on without the name).
ITWIN_NAME = Operation("itwin_name", "get iTwin name", retried=False)
ITWIN_NAME_WAIT = 3.0
# Names are remembered this long, for this many iTwins (a rename shows within minutes).
ITWIN_NAME_SECONDS = 600.0
ITWIN_NAMES_KEPT = 512
# The iTwins API's minimal representation has no status; the full one tells inactive iTwins apart.
FULL_REPRESENTATION = {"Prefer": "return=representation"}
# Package roles (4.16-4.20) and Access Control's iTwin roles (4.21).
LIST_PACKAGE_ROLES = Operation("list_package_roles", "list the package roles", permission="edfs_ilsmng")
LIST_ROLE_ASSIGNMENTS = Operation(
    "list_role_assignments", "list the package's role assignments", permission="edfs_ilsmng"
)
ADD_ROLE_ASSIGNMENTS = Operation(
    "add_role_assignments", "add a package role assignment", write=True, permission="edfs_ilsmng"
)
UPDATE_ROLE_ASSIGNMENTS = Operation(
    "update_role_assignments", "update a package role assignment", write=True, permission="edfs_ilsmng"
)
REMOVE_ROLE_ASSIGNMENTS = Operation(
    "remove_role_assignments", "remove a package role assignment", write=True, permission="edfs_ilsmng"
)
LIST_ITWIN_ROLES = Operation(
    "list_itwin_roles", "list the iTwin's roles", permission="administration_manage_roles"
)
ACCESS_CONTROL_V2 = {"Accept": "application/vnd.bentley.itwin-platform.v2+json"}


@dataclass(frozen=True)
class ExecutionPayload:
    """What a package run returned, unparsed: package-defined JSON or XML."""

    content: bytes
    media_type: str


@dataclass(frozen=True)
class FoundITwins:
    itwins: list[ITwin]
    more: bool


@dataclass(frozen=True)
class ODataPage:
    context: str | None
    rows: list[dict[str, Any]]


class EdfsClient:
    """Typed access to EDFS and the iTwins API over one pooled connection."""

    def __init__(
        self,
        *,
        api_base: str,
        tokens: TokenSource,
        timeouts: Timeouts,
        max_rate_limit_wait: float,
        transport: httpx2.AsyncBaseTransport | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        sleep: Sleep | None = None,
    ) -> None:
        """``max_response_bytes``: the largest answer body accepted (after decompression).
        ``sleep``: what waits between retries (tests pass one that does not really wait)."""
        self._tokens = tokens
        self._itwin_names: dict[str, tuple[float, str]] = {}
        self._api_host = httpx2.URL(api_base).host
        self._http = HttpSession(
            base_url=api_base,
            tokens=tokens,
            timeouts=timeouts,
            max_rate_limit_wait=max_rate_limit_wait,
            max_response_bytes=max_response_bytes,
            transport=transport,
            sleep=sleep,
        )

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._tokens.aclose()

    # -- packages (organization level) --------------------------------------------------------

    async def list_packages(self, *, on_wait: WaitCallback | None = None) -> list[Package]:
        response = await self._http.request(LIST_PACKAGES, "GET", "/edfs/packages", on_wait=on_wait)
        return [Package.model_validate(item) for item in _list(response, "packages")]

    async def get_package(self, unique_name: str, *, on_wait: WaitCallback | None = None) -> PackageDetails:
        response = await self._http.request(
            GET_PACKAGE,
            "GET",
            target(PACKAGE, uniqueName=unique_name),
            on_wait=on_wait,
        )
        return PackageDetails.model_validate(_object(response))

    # -- packages in an iTwin ------------------------------------------------------------------

    async def execute_package(
        self,
        itwin_id: str,
        unique_name: str,
        variables: Sequence[Variable],
        *,
        return_as_xml: bool = False,
        on_wait: WaitCallback | None = None,
    ) -> ExecutionPayload:
        body = {
            "variables": [v.model_dump(by_alias=True) for v in variables],
            "returnAsXml": return_as_xml,
        }
        response = await self._http.request(
            EXECUTE,
            "POST",
            target(RUN, iTwinId=itwin_id, uniqueName=unique_name),
            json_body=body,
            long_running=True,
            on_wait=on_wait,
        )
        media_type = response.headers.get("content-type", "application/json").split(";")[0].strip()
        return ExecutionPayload(content=response.content, media_type=media_type.lower())

    async def list_package_systems(
        self, itwin_id: str, unique_name: str, *, on_wait: WaitCallback | None = None
    ) -> list[PackageSystem]:
        response = await self._http.request(
            LIST_PACKAGE_SYSTEMS,
            "GET",
            target(PACKAGE_SYSTEMS, iTwinId=itwin_id, uniqueName=unique_name),
            on_wait=on_wait,
        )
        return [PackageSystem.model_validate(item) for item in _list(response, "systems")]

    async def list_systems(self, itwin_id: str, *, on_wait: WaitCallback | None = None) -> list[System]:
        response = await self._http.request(
            LIST_SYSTEMS,
            "GET",
            target(SYSTEMS, iTwinId=itwin_id),
            on_wait=on_wait,
        )
        return [System.model_validate(item) for item in _list(response, "systems")]

    async def system_type_properties(
        self, itwin_id: str, unique_name: str, system_type: str, *, on_wait: WaitCallback | None = None
    ) -> list[SystemTypeProperty]:
        """The credential properties of one of the package's system types (4.5)."""
        response = await self._http.request(
            GET_SYSTEM_TYPE,
            "GET",
            target(SYSTEM_TYPE, iTwinId=itwin_id, uniqueName=unique_name, systemType=system_type),
            on_wait=on_wait,
        )
        return [SystemTypeProperty.model_validate(item) for item in _list(response, "properties")]

    async def create_system(
        self, itwin_id: str, draft: SystemDraft, *, on_wait: WaitCallback | None = None
    ) -> System:
        """Create a system with its credentials (4.10). A write: never re-sent; when its answer is
        lost the caller re-lists the systems to learn whether it exists."""
        response = await self._http.request(
            CREATE_SYSTEM,
            "POST",
            target(SYSTEMS, iTwinId=itwin_id),
            json_body=draft.model_dump(by_alias=True),
            on_wait=on_wait,
        )
        body = _object(response)
        # The 201 answer is the record without the change fields: fill in what we sent.
        return System.model_validate(
            {"systemId": draft.system_id, "systemType": draft.system_type, "systemName": draft.name, **body}
        )

    async def delete_system(
        self, itwin_id: str, record_id: str, *, on_wait: WaitCallback | None = None
    ) -> None:
        """Delete a system by its record GUID (4.11), not by its systemId."""
        await self._http.request(
            DELETE_SYSTEM,
            "DELETE",
            target(SYSTEM, iTwinId=itwin_id, id=record_id),
            on_wait=on_wait,
        )

    # -- OData ---------------------------------------------------------------------------------

    async def list_entity_sets(
        self, itwin_id: str, unique_name: str, *, on_wait: WaitCallback | None = None
    ) -> list[EntitySet]:
        response = await self._http.request(
            LIST_ENTITY_SETS,
            "GET",
            target(ODATA, iTwinId=itwin_id, uniqueName=unique_name),
            on_wait=on_wait,
        )
        return [EntitySet.model_validate(item) for item in _list(response, "value")]

    async def entity_set_columns(
        self, itwin_id: str, unique_name: str, *, on_wait: WaitCallback | None = None
    ) -> dict[str, dict[str, str]]:
        """Each entity set's columns and types, from the package's ``$metadata`` (4.7)."""
        response = await self._http.request(
            GET_ODATA_METADATA,
            "GET",
            target(ODATA_METADATA, iTwinId=itwin_id, uniqueName=unique_name),
            on_wait=on_wait,
        )
        return entity_set_columns(response.content)

    async def query_entity_set(
        self,
        itwin_id: str,
        unique_name: str,
        entity_set: str,
        query: Mapping[str, str],
        *,
        on_wait: WaitCallback | None = None,
    ) -> ODataPage:
        response = await self._http.request(
            QUERY_ENTITY_SET,
            "GET",
            target(ENTITY_SET, iTwinId=itwin_id, uniqueName=unique_name, entitySet=entity_set),
            params=query,
            on_wait=on_wait,
        )
        body = _object(response)
        context = body.get("@odata.context")
        rows = [row for row in body.get("value") or [] if isinstance(row, dict)]
        return ODataPage(context=context if isinstance(context, str) else None, rows=rows)

    # -- timers --------------------------------------------------------------------------------

    async def list_timers(self, itwin_id: str, *, on_wait: WaitCallback | None = None) -> list[Timer]:
        response = await self._http.request(
            LIST_TIMERS,
            "GET",
            target(TIMERS, iTwinId=itwin_id),
            on_wait=on_wait,
        )
        return [Timer.model_validate(item) for item in _list(response, "timers")]

    async def create_timer(
        self, itwin_id: str, draft: TimerDraft, *, on_wait: WaitCallback | None = None
    ) -> Timer:
        response = await self._http.request(
            CREATE_TIMER,
            "POST",
            target(TIMERS, iTwinId=itwin_id),
            json_body=draft.model_dump(by_alias=True),
            on_wait=on_wait,
        )
        return Timer.model_validate(_object(response))

    async def delete_timer(
        self, itwin_id: str, timer_id: str, *, on_wait: WaitCallback | None = None
    ) -> None:
        await self._http.request(
            DELETE_TIMER,
            "DELETE",
            target(TIMER, iTwinId=itwin_id, timerId=timer_id),
            on_wait=on_wait,
        )

    async def toggle_timer(
        self, itwin_id: str, timer_id: str, *, on_wait: WaitCallback | None = None
    ) -> Timer:
        response = await self._http.request(
            TOGGLE_TIMER,
            "PATCH",
            target(TOGGLE, iTwinId=itwin_id, timerId=timer_id),
            on_wait=on_wait,
        )
        return Timer.model_validate(_object(response))

    # -- iTwins --------------------------------------------------------------------------------

    async def search_itwins(
        self,
        *,
        search: str | None = None,
        display_name: str | None = None,
        number: str | None = None,
        sub_class: str | None = None,
        include_inactive: bool = False,
        skip: int = 0,
        limit: int = 100,
        on_wait: WaitCallback | None = None,
    ) -> FoundITwins:
        """Up to ``limit`` iTwins from ``skip`` on, following ``_links.next``; ``more`` tells whether
        others follow. The full representation, so each iTwin carries its ``status``."""
        # One more than asked, so "are there more?" needs no extra request.
        params: dict[str, str] = {"$top": str(min(limit + 1, 1000)), "$skip": str(skip)}
        for key, value in (
            ("$search", search),
            ("displayName", display_name),
            ("number", number),
            ("subClass", sub_class),
        ):
            if value:
                params[key] = value
        if include_inactive:
            params["includeInactive"] = "true"
        found: list[ITwin] = []
        path: str | None = "/itwins/"
        query: Mapping[str, str] | None = params
        while path is not None and len(found) <= limit:
            response = await self._http.request(
                SEARCH_ITWINS, "GET", path, params=query, headers=FULL_REPRESENTATION, on_wait=on_wait
            )
            page = ITwinPage.from_body(_object(response))
            found.extend(page.items)
            path, query = (self._same_origin(page.next_href) if page.items else None), None
        self.remember_itwin_names(found)
        return FoundITwins(itwins=found[:limit], more=len(found) > limit or path is not None)

    async def get_itwin(
        self, itwin_id: str, *, on_wait: WaitCallback | None = None, operation: Operation = GET_ITWIN
    ) -> ITwin:
        response = await self._http.request(
            operation,
            "GET",
            target(ITWIN, iTwinId=itwin_id),
            headers=FULL_REPRESENTATION,
            on_wait=on_wait,
        )
        body = _object(response).get("iTwin")
        itwin = ITwin.model_validate(body if isinstance(body, dict) else {"id": itwin_id})
        self.remember_itwin_names([itwin])
        return itwin

    async def itwin_name(self, itwin_id: str, *, on_wait: WaitCallback | None = None) -> str | None:
        """The iTwin's display name, for results that name it; None when it cannot be read.

        Remembered for ITWIN_NAME_SECONDS per client (so per person in the team deployment). A name
        only labels a result: failing to read it never fails the call."""
        known = self._itwin_names.get(itwin_id.lower())
        if known is not None and time.monotonic() - known[0] < ITWIN_NAME_SECONDS:
            return known[1]
        with anyio.move_on_after(ITWIN_NAME_WAIT):
            try:
                itwin = await self.get_itwin(itwin_id, on_wait=on_wait, operation=ITWIN_NAME)
            except EdfsMcpError:
                return None
            return itwin.display_name or None
        return None

    def remember_itwin_names(self, itwins: Sequence[ITwin]) -> None:
        now = time.monotonic()
        for itwin in itwins:
            if itwin.display_name:
                self._itwin_names.pop(itwin.id.lower(), None)
                self._itwin_names[itwin.id.lower()] = (now, itwin.display_name)
        while len(self._itwin_names) > ITWIN_NAMES_KEPT:
            del self._itwin_names[next(iter(self._itwin_names))]

    # -- package roles (4.16-4.20) and iTwin roles (Access Control, 4.21) -----------------------

    # 4.19 and 4.20: method and path (after .../packages/{uniqueName}/) are assumed (edfs-api.md §3);
    # set these on the client to follow the service where it differs.
    roles_update_route: tuple[str, str] = ("PATCH", "roles")
    roles_remove_route: tuple[str, str] = ("DELETE", "roles")

    async def list_package_roles(self, *, on_wait: WaitCallback | None = None) -> list[PackageRole]:
        """The package roles EDFS offers (4.16), e.g. "Execute Integration Package"."""
        response = await self._http.request(
            LIST_PACKAGE_ROLES, "GET", "/edfs/packages/roles", on_wait=on_wait
        )
        return [PackageRole.model_validate(item) for item in _list(response, "packageRoles")]

    async def list_role_assignments(
        self, itwin_id: str, unique_name: str, *, on_wait: WaitCallback | None = None
    ) -> list[RoleAssignment]:
        """Which iTwin roles hold which package roles for the package on the iTwin (4.17)."""
        response = await self._http.request(
            LIST_ROLE_ASSIGNMENTS,
            "GET",
            target(ROLES, iTwinId=itwin_id, uniqueName=unique_name),
            on_wait=on_wait,
        )
        return [RoleAssignment.model_validate(item) for item in _list(response, "assignments")]

    async def add_role_assignments(
        self,
        itwin_id: str,
        unique_name: str,
        assignments: Mapping[str, Sequence[str]],
        *,
        on_wait: WaitCallback | None = None,
    ) -> list[RoleAssignment]:
        """Give iTwin roles (ID → package role IDs) package roles (4.18); the listing after it."""
        return await self._change_roles(
            ADD_ROLE_ASSIGNMENTS, "POST", "roles", itwin_id, unique_name, _assignments(assignments), on_wait
        )

    async def update_role_assignments(
        self,
        itwin_id: str,
        unique_name: str,
        assignments: Mapping[str, Sequence[str]],
        *,
        on_wait: WaitCallback | None = None,
    ) -> list[RoleAssignment]:
        """Replace the package roles of the listed iTwin roles (4.19); the listing after it."""
        method, suffix = self.roles_update_route
        return await self._change_roles(
            UPDATE_ROLE_ASSIGNMENTS, method, suffix, itwin_id, unique_name, _assignments(assignments), on_wait
        )

    async def remove_role_assignments(
        self,
        itwin_id: str,
        unique_name: str,
        itwin_role_ids: Sequence[str],
        *,
        on_wait: WaitCallback | None = None,
    ) -> list[RoleAssignment]:
        """Take every package role of the listed iTwin roles away (4.20); the listing after it."""
        method, suffix = self.roles_remove_route
        body = {"iTwinRoleIds": list(itwin_role_ids)}
        return await self._change_roles(
            REMOVE_ROLE_ASSIGNMENTS, method, suffix, itwin_id, unique_name, body, on_wait
        )

    async def _change_roles(
        self,
        operation: Operation,
        method: str,
        suffix: str,
        itwin_id: str,
        unique_name: str,
        body: dict[str, Any],
        on_wait: WaitCallback | None,
    ) -> list[RoleAssignment]:
        response = await self._http.request(
            operation,
            method,
            target(f"{RUN}/{suffix.strip('/')}", iTwinId=itwin_id, uniqueName=unique_name),
            json_body=body,
            on_wait=on_wait,
        )
        return [RoleAssignment.model_validate(item) for item in _list(response, "assignments")]

    async def list_itwin_roles(
        self, itwin_id: str, *, on_wait: WaitCallback | None = None
    ) -> list[ITwinRole]:
        """The iTwin's roles, from Access Control v2 (4.21), under the same API root."""
        response = await self._http.request(
            LIST_ITWIN_ROLES,
            "GET",
            target(ITWIN_ROLES, iTwinId=itwin_id),
            headers=ACCESS_CONTROL_V2,
            on_wait=on_wait,
        )
        return [ITwinRole.model_validate(item) for item in _list(response, "roles")]

    def _same_origin(self, href: str | None) -> str | None:
        # The bearer token goes only to the configured API host, whatever a link says.
        if href is None:
            return None
        url = httpx2.URL(href)
        if url.host and url.host != self._api_host:
            return None
        return url.raw_path.decode("ascii")


def _object(response: Answer) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        # A 2xx whose body is not what the reference describes: the service's fault, not the caller's.
        raise ServerError(
            status=response.status,
            operation=Operation("read_answer", f"read the answer of {response.path}"),
            code="UnexpectedResponse",
            message="The answer was not the JSON object the API reference describes.",
        )
    return body


def _assignments(assignments: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """``ITwinRoleToPackageRoleDtoList`` (4.18, 4.19)."""
    return {
        "assignments": [
            {"iTwinRoleId": role_id, "packageRoleIds": list(package_roles)}
            for role_id, package_roles in assignments.items()
        ]
    }


def _list(response: Answer, key: str) -> list[dict[str, Any]]:
    items = _object(response).get(key)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
