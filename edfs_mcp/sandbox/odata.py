"""EDFS OData: entity sets (4.6), ``$metadata`` (4.7) and entity-set queries (4.8)."""

from __future__ import annotations

import re
from xml.sax.saxutils import quoteattr

from starlette.responses import JSONResponse, Response

from . import fixtures, seed
from ._http import ErrorReply, detail, missing_system_details
from .odata_query import QueryError, apply_query, parse_select
from .router import Ctx, Operation, op, package_role

INVALID = ("InvalidSchemaRequest", "Cannot retrieve Schema.")
NOT_FOUND = ("SchemaNotFound", "Requested Schema is not available.")
_NOT_NULL = ' Nullable="false"'
_KEYED = re.compile(r"(?P<set>[A-Za-z0-9_.-]+)(?:\((?P<key>.*)\))?", re.DOTALL)


def _package(ctx: Ctx) -> seed.PackageSeed:
    package = ctx.state.package_for_itwin(ctx.itwin_id, ctx.params["uniqueName"])
    if package is None or not package.is_odata:
        raise ErrorReply(404, *NOT_FOUND)
    return package


def _metadata_url(ctx: Ctx) -> str:
    itwin_id, name = ctx.params["iTwinId"], ctx.params["uniqueName"]
    return f"{ctx.base}/edfs/itwins/{itwin_id}/packages/{name}/odata/$metadata"


async def entity_sets(ctx: Ctx) -> Response:
    _package(ctx)
    return JSONResponse(
        {
            "@odata.context": _metadata_url(ctx),
            "value": [{"name": name, "kind": "EntitySet", "url": name} for name in fixtures.entity_sets()],
        }
    )


async def metadata(ctx: Ctx) -> Response:
    package = _package(ctx)
    ns = package.unique_name
    types, sets = [], []
    for es in fixtures.entity_sets().values():
        props = "".join(
            f'<Property Name="{n}" Type="{t}"{_NOT_NULL if n == es.key else ""}/>' for n, t in es.properties
        )
        types.append(
            f'<EntityType Name="{es.name}_Type"><Key><PropertyRef Name="{es.key}"/></Key>{props}</EntityType>'
        )
        sets.append(f'<EntitySet Name="{es.name}" EntityType="{ns}.{es.name}_Type"/>')
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>'
        f'<Schema Namespace={quoteattr(ns)} xmlns="http://docs.oasis-open.org/odata/ns/edm">{"".join(types)}'
        f'<EntityContainer Name="Container">{"".join(sets)}</EntityContainer></Schema>'
        "</edmx:DataServices></edmx:Edmx>"
    )
    return Response(xml, media_type="application/xml")


def _key_value(text: str, key_name: str) -> str:
    """``'10000001'``, ``10000001`` or ``Equipment='10000001'`` → the key as a string."""
    name, eq, literal = text.partition("=")
    if eq:
        if name.strip() != key_name:
            raise ErrorReply(404, *NOT_FOUND)
        text = literal
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text


async def query_entity_set(ctx: Ctx) -> Response:
    missing = ctx.state.missing_systems(ctx.itwin_id, _package(ctx))
    match = _KEYED.fullmatch(ctx.params["entitySet"])
    entity_set = fixtures.entity_sets().get(match["set"]) if match else None
    if match is None or entity_set is None:
        raise ErrorReply(404, *NOT_FOUND)
    options: dict[str, str] = {}
    for name, value in ctx.request.query_params.multi_items():
        if name in options:
            raise ErrorReply(422, *INVALID, [detail(name, f"Query option '{name}' is given more than once.")])
        options[name] = value
    if missing:
        raise ErrorReply(422, *INVALID, missing_system_details(missing))
    context = f"{_metadata_url(ctx)}#{entity_set.name}"
    try:
        if match["key"] is not None:
            extra = [o for o in options if o.startswith("$") and o != "$select"]
            if extra:
                raise QueryError(extra[0], f"Query option '{extra[0]}' cannot be used with a key.")
            key = _key_value(match["key"], entity_set.key)
            row = next((r for r in entity_set.rows if str(r.get(entity_set.key)) == key), None)
            if row is None:
                raise ErrorReply(404, *NOT_FOUND)
            selected = parse_select(options.get("$select"), entity_set.properties)
            body = {n: row.get(n) for n in selected} if selected else dict(row)
            return JSONResponse({"@odata.context": f"{context}/$entity", **body})
        rows, selected = apply_query(entity_set.rows, entity_set.properties, options)
    except QueryError as exc:
        raise ErrorReply(422, *INVALID, [detail(exc.option, exc.message)]) from None
    if selected:
        context += f"({','.join(selected)})"
    return JSONResponse({"@odata.context": context, "value": rows})


def operations() -> list[Operation]:
    base = "/edfs/itwins/{iTwinId}/packages/{uniqueName}/odata"
    perm = package_role(seed.PACKAGE_ROLE_EXECUTE)  # edfs_objipexec, per package
    return [
        op("GET", base, entity_sets, permission=perm, invalid=INVALID),
        op("GET", f"{base}/$metadata", metadata, permission=perm, invalid=INVALID),
        op("GET", f"{base}/{{entitySet}}", query_entity_set, permission=perm, invalid=INVALID),
    ]
