"""EDFS packages, execute and systems: operations 4.1-4.5 and 4.9-4.11 of edfs-api.md."""

from __future__ import annotations

import uuid

from starlette.responses import JSONResponse, Response, StreamingResponse

from . import fixtures, seed
from ._http import (
    RATE_EXCEEDED,
    BodyCheck,
    ErrorReply,
    detail,
    missing_system_details,
    parse_json,
    valid_name,
)
from .router import Ctx, Operation, itwin_permission, op, org_permission, package_role
from .state import now_iso

PKG_INVALID = ("InvalidPackageRequest", "Cannot retrieve Package.")
PKG_NOT_FOUND = ("PackageNotFound", "Requested Package is not available.")
EXEC_INVALID = ("InvalidPackageDataRequest", "Cannot retrieve PackageData.")
LIST_INVALID = ("InvalidSystemListRequest", "Cannot retrieve SystemList.")
LIST_NOT_FOUND = ("SystemListNotFound", "Requested SystemList is not available.")
TYPE_INVALID = ("InvalidSystemTypeRequest", "Cannot retrieve SystemType.")
TYPE_NOT_FOUND = ("SystemTypeNotFound", "Requested SystemType is not available.")
CREATE_INVALID = ("InvalidSystemRequest", "Cannot create System.")
REMOVE_INVALID = ("InvalidSystemRequest", "Cannot remove System.")
SYSTEM_NOT_FOUND = ("SystemNotFound", "Requested System is not available.")
SYSTEM_EXISTS = ("SystemExists", "System with the same systemId already exists.")


def _resource_not_found() -> ErrorReply:
    """Execute's documented 404 (unknown iTwin, unknown or unsubscribed package)."""
    return ErrorReply(
        404,
        "ResourceNotFound",
        "The requested resource was not found. Verify the API URL and the Accept header.",
        [{"code": "OperationNotFound", "message": "Unable to match incoming request to an operation."}],
    )


async def list_packages(ctx: Ctx) -> Response:
    org = ctx.identity.organization_id
    with ctx.state.lock:
        names = sorted(ctx.state.subscriptions.get(org, {}))
        packages = [ctx.state.package_json(org, name) for name in names]
    return JSONResponse({"packages": packages})


async def package_details(ctx: Ctx) -> Response:
    org, name = ctx.identity.organization_id, ctx.params["uniqueName"]
    with ctx.state.lock:
        if not ctx.state.subscribes(org, name):
            raise ErrorReply(404, *PKG_NOT_FOUND)
        return JSONResponse(ctx.state.package_json(org, name, details=True))


async def execute(ctx: Ctx) -> Response:
    name = ctx.params["uniqueName"]
    package = ctx.state.package_for_itwin(ctx.itwin_id, name)
    if package is None:
        raise _resource_not_found()
    check = BodyCheck(*parse_json(await ctx.request.body()))
    check.only({"variables", "returnAsXml"})
    variables = {v["name"]: v["value"] for v in check.pairs("variables", strict=True)}
    as_xml = check.boolean("returnAsXml", False)
    check.raise_if_failed(*EXEC_INVALID)
    missing = ctx.state.missing_systems(ctx.itwin_id, package)
    if missing:
        raise ErrorReply(422, *EXEC_INVALID, missing_system_details(missing))
    media = "application/xml" if as_xml else "application/json"
    if name == seed.SENSOR_READINGS_ARCHIVE:  # made as it is sent, never stored
        ctx.state.count_write("execute")
        return StreamingResponse(fixtures.archive_chunks(as_xml), media_type=media)
    if name == seed.SENSOR_READINGS_BULK:
        content = fixtures.sensor_payload(as_xml)  # variables do not narrow the bulk history
    else:
        rows = fixtures.execute_rows(name, ctx.itwin_id, variables)
        content = fixtures.rows_to_xml(rows) if as_xml else fixtures.rows_to_json(rows)
    ctx.state.count_write("execute")
    return Response(content, media_type=media)


async def package_systems(ctx: Ctx) -> Response:
    package = ctx.state.package_for_itwin(ctx.itwin_id, ctx.params["uniqueName"])
    if package is None:
        raise ErrorReply(404, *LIST_NOT_FOUND)
    return JSONResponse(
        {
            "systems": [
                {"systemId": s.system_id, "systemType": s.system_type, "required": s.required}
                for s in package.systems
            ]
        }
    )


async def system_type_properties(ctx: Ctx) -> Response:
    package = ctx.state.package_for_itwin(ctx.itwin_id, ctx.params["uniqueName"])
    system_type = ctx.params["systemType"]
    if package is None or system_type not in {s.system_type for s in package.systems}:
        raise ErrorReply(404, *TYPE_NOT_FOUND)
    props = seed.SYSTEM_TYPE_PROPERTIES[system_type]
    return JSONResponse(
        {
            "properties": [
                {"name": n, "defaultValue": d, "enumValues": list(e) if e else None, "dataType": t}
                for n, d, e, t in props
            ]
        }
    )


async def list_systems(ctx: Ctx) -> Response:
    if ctx.state.itwin(ctx.itwin_id) is None:
        raise ErrorReply(404, *LIST_NOT_FOUND)
    return JSONResponse({"systems": ctx.state.systems_of(ctx.itwin_id)})


async def create_system(ctx: Ctx) -> Response:
    itwin = ctx.state.itwin(ctx.itwin_id)
    if itwin is None:
        raise ErrorReply(404, *LIST_NOT_FOUND)
    check = BodyCheck(*parse_json(await ctx.request.body()))
    name = check.string("name", required=True)
    system_id = check.string("systemId", required=True)
    system_type = check.string("systemType", required=True)
    if system_id is not None and not valid_name(system_id):
        check.fail("systemId", "Provided System ID value contains invalid characters.")
    known = {p[0] for p in seed.SYSTEM_TYPE_PROPERTIES.get(system_type or "", ())}
    if system_type is not None and not known:
        check.fail("systemType", f"Unknown system type '{system_type}'.")
    credentials = check.body.get("credentials")
    if not isinstance(credentials, dict):
        check.fail(
            "credentials",
            "Property 'credentials' must be an object of strings.",
            "MissingRequiredProperty" if credentials is None else "InvalidValue",
        )
        credentials = {}
    for key, value in credentials.items():
        if not isinstance(value, str):
            check.fail(f"credentials.{key}", f"Credential '{key}' must be a string.")
        elif known and key not in known:
            check.fail(f"credentials.{key}", f"'{key}' is not a property of system type '{system_type}'.")
    check.raise_if_failed(*CREATE_INVALID)
    assert name is not None
    assert system_id is not None
    assert system_type is not None
    with ctx.state.lock:
        systems = ctx.state.systems.setdefault(ctx.itwin_id, {})
        if any(s["systemId"] == system_id for s in systems.values()):
            raise ErrorReply(409, *SYSTEM_EXISTS, [detail("systemId", SYSTEM_EXISTS[1], "Conflict")])
        record_id = str(uuid.uuid4())
        systems[record_id] = {
            "id": record_id,
            "systemName": name,
            "organizationId": itwin.organization_id,
            "systemId": system_id,
            "systemType": system_type,
            "lastChange": now_iso(),
            "lastChangeBy": ctx.identity.id,
            "lastChangeByName": ctx.identity.name,
        }
        ctx.state.credentials[record_id] = dict(credentials)
        ctx.state.writes["system_create"] += 1
    created = {"id": record_id, "systemName": name, "systemId": system_id, "systemType": system_type}
    return JSONResponse(created, status_code=201)


async def delete_system(ctx: Ctx) -> Response:
    record_id = ctx.params["id"].lower()
    with ctx.state.lock:
        systems = ctx.state.systems.get(ctx.itwin_id)
        if systems is None or record_id not in systems:
            raise ErrorReply(404, *SYSTEM_NOT_FOUND)
        del systems[record_id]
        ctx.state.credentials.pop(record_id, None)
        ctx.state.writes["system_delete"] += 1
    return Response(status_code=204)


def operations() -> list[Operation]:
    base = "/edfs/itwins/{iTwinId}"
    return [
        op("GET", "/edfs/packages", list_packages, permission=org_permission(seed.PROJMNG)),
        op(
            "GET",
            "/edfs/packages/{uniqueName}",
            package_details,
            permission=org_permission(seed.PROJMNG),
            invalid=PKG_INVALID,
        ),
        op(
            "POST",
            f"{base}/packages/{{uniqueName}}",
            execute,
            permission=package_role(seed.PACKAGE_ROLE_EXECUTE),  # edfs_objipexec, per package
            invalid=EXEC_INVALID,
            rate_code=RATE_EXCEEDED[0],
        ),
        op(
            "GET",
            f"{base}/packages/{{uniqueName}}/systems",
            package_systems,
            permission=itwin_permission(seed.CREDMNG),
            invalid=LIST_INVALID,
        ),
        op(
            "GET",
            f"{base}/packages/{{uniqueName}}/systems/{{systemType}}",
            system_type_properties,
            permission=itwin_permission(seed.CREDMNG),
            invalid=TYPE_INVALID,
        ),
        op(
            "GET",
            f"{base}/systems",
            list_systems,
            permission=itwin_permission(seed.CREDMNG),
            invalid=LIST_INVALID,
        ),
        op(
            "POST",
            f"{base}/systems",
            create_system,
            permission=itwin_permission(seed.CREDMNG),
            invalid=CREATE_INVALID,
        ),
        op(
            "DELETE",
            f"{base}/systems/{{id}}",
            delete_system,
            permission=itwin_permission(seed.CREDMNG),
            invalid=REMOVE_INVALID,
        ),
    ]
