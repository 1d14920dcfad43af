"""Deterministic payloads: package execution results and OData entity sets.

Rows are generated arithmetically (no randomness) so every run and every machine sees the same data.
Cached results are shared: callers must copy before changing a row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from . import seed

Row = dict[str, Any]

_PLANTS = {
    seed.ITWIN_NORTHGATE_BRIDGE: ("NG01", "NG-BR", "NGATE"),
    seed.ITWIN_RIVERSIDE_WTP: ("RW01", "RW-TP", "RWTP"),
    seed.ITWIN_EASTLINE_RAIL: ("EL01", "EL-RL", "ELINE"),
    seed.ITWIN_PUMP_STATION_14: ("PS14", "PS-14", "PS14"),
    seed.ITWIN_HARBOR_TUNNEL: ("HT01", "HT-TN", "HARBR"),
}
_TASKS = (
    "Inspect bearing",
    "Replace expansion joint seal",
    "Clean drainage outlet",
    "Repaint steelwork",
    "Calibrate flow meter",
    "Service pump motor",
    "Replace valve actuator",
    "Check cathodic protection",
    "Repair concrete spalling",
)
_STATUSES = ("CRTD", "REL", "REL", "TECO", "CLSD")
_PARTS = ("Bolt", "Seal", "Bearing", "Gasket", "Paint")


def _site(itwin_id: str) -> tuple[str, str, str]:
    return _PLANTS.get(itwin_id, ("HQ01", "HQ-GN", "HQ"))


def _sap_work_orders(itwin_id: str, count: int = 36) -> list[Row]:
    plant, floc, _ = _site(itwin_id)
    start = date(2024, 4, 1)
    return [
        {
            "WorkOrder": str(4000100 + i),
            "Plant": plant,
            "Status": _STATUSES[i % len(_STATUSES)],
            "Description": f"{_TASKS[i % len(_TASKS)]}, span {i % 6 + 1}",
            "Priority": str(i % 4 + 1),
            "ScheduledStart": (start + timedelta(days=3 * i)).isoformat(),
            "Equipment": str(10000001 + i % 12),
            "FunctionalLocation": f"{floc}-SP{i % 6 + 1:02d}",
        }
        for i in range(count)
    ]


_CUSTOMERS = (
    ("ACME ", "ACME Ltd.", "Joe Bloggs"),
    ("ALFKI", "Alfreds Futterkiste", "Maria Anders"),
    ("BERGS", "Berglunds snabbkop", "Christina Berglund"),
    ("BONAP", "Bon app'", "Laurence Lebihan"),
    ("CACTU", "Cactus Comidas para llevar", "Patricio Simpson"),
    ("ERNSH", "Ernst Handel", "Roland Mendel"),
    ("FRANK", "Frankenversand", "Peter Franken"),
    ("HANAR", "Hanari Carnes", "Mario Pontes"),
    ("NORTS", "North/South", "Simon Crowther"),
    ("QUICK", "QUICK-Stop", "Horst Kloss"),
    ("RATTC", "Rattlesnake Canyon Grocery", "Paula Wilson"),
    ("WOLZA", "Wolski Zajazd", "Zbyszek Piestrzeniewicz"),
)


def _maximo_assets(itwin_id: str) -> list[Row]:
    _, _, site = _site(itwin_id)
    kinds = ("PUMP", "VALVE", "MOTOR", "SENSOR")
    states = ("OPERATING", "OPERATING", "NOT READY", "DECOMMISSIONED")
    return [
        {
            "assetnum": f"{kinds[i % 4][:3]}-{1001 + i}",
            "siteid": site,
            "assettype": kinds[i % 4],
            "description": f"{kinds[i % 4].title()} {i // 4 + 1}, line {i % 3 + 1}",
            "status": states[(i * 3) % 4],
            "condition": (i * 7) % 5 + 1,
        }
        for i in range(24)
    ]


def _sharepoint_documents() -> list[Row]:
    names = (
        "Inspection report",
        "Method statement",
        "Risk assessment",
        "Drawing register",
        "Ventilation survey",
        "Lighting retrofit spec",
        "Fire strategy",
        "Handover checklist",
    )
    return [
        {
            "name": f"{n}.pdf",
            "library": "Shared Documents",
            "modified": f"2024-02-{10 + i:02d}T09:{i * 7 % 60:02d}:00Z",
            "modifiedBy": "Hana Harbor",
        }
        for i, n in enumerate(names)
    ]


def _variables(variables: Mapping[str, str], name: str) -> str | None:
    # Variable names match case-insensitively, as SQL/SAP connectors usually do.
    for key, value in variables.items():
        if key.lower() == name.lower():
            return value
    return None


def execute_rows(unique_name: str, itwin_id: str, variables: Mapping[str, str]) -> list[Row]:
    """Rows of a (small) package run; unknown variables are ignored."""
    if unique_name == seed.SAP_WORK_ORDERS:
        rows = _sap_work_orders(itwin_id)
        plant, status, since = (_variables(variables, n) for n in ("Plant", "Status", "FromDate"))
        return [
            r
            for r in rows
            if (plant is None or r["Plant"].lower() == plant.lower())
            and (status is None or r["Status"].lower() == status.lower())
            and (since is None or r["ScheduledStart"] >= since)
        ]
    if unique_name == seed.SQL_CUSTOMERS_TABLE:
        wanted = _variables(variables, "CustomerID")
        return [
            {"customerID": c, "companyName": n, "contactName": p}
            for c, n, p in _CUSTOMERS
            if wanted is None or c.strip().lower() == wanted.strip().lower()
        ]
    if unique_name == seed.MAXIMO_ASSETS:
        site, kind = _variables(variables, "SiteId"), _variables(variables, "AssetType")
        return [
            r
            for r in _maximo_assets(itwin_id)
            if (site is None or r["siteid"].lower() == site.lower())
            and (kind is None or r["assettype"].lower() == kind.lower())
        ]
    if unique_name == seed.ODT_APIM_TEST:
        entity_set = entity_sets().get(_variables(variables, "EntitySet") or "SAP_Equipments_Read")
        return [dict(r) for r in entity_set.rows] if entity_set else []
    if unique_name == seed.SHAREPOINT_DOCUMENTS:
        return _sharepoint_documents()
    return []


def rows_to_json(rows: list[Row]) -> bytes:
    return json.dumps({"data": rows}, separators=(",", ":")).encode()


def rows_to_xml(rows: list[Row]) -> bytes:
    """``<data><row><field>value</field>…</row>…</data>`` (the real XML layout is undocumented)."""
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n<data>']
    for row in rows:
        parts.append("<row>")
        for key, value in row.items():
            shown = str(value).lower() if isinstance(value, bool) else str(value)
            text = "" if value is None else escape(shown)
            parts.append(f"<{key}>{text}</{key}>")
        parts.append("</row>")
    parts.append("</data>")
    return "".join(parts).encode()


def _sensor_fields() -> list[tuple[str, str, str, str, str]]:
    # 50 sensors x 2000 readings every 15 minutes from 2024-01-01; strings only, so no escaping is needed.
    sensors = [(f"SG-{s + 1:03d}", "microstrain" if s % 5 else "mm") for s in range(50)]
    base = datetime(2024, 1, 1, tzinfo=UTC)
    stamps = [(base + timedelta(minutes=15 * k)).strftime("%Y-%m-%dT%H:%M:%SZ") for k in range(2000)]
    out = []
    for i in range(seed.SENSOR_ROW_COUNT):
        sensor, unit = sensors[i % 50]
        value = f"{10 + (i * 7919 % 4000) / 100:.2f}"
        out.append((sensor, stamps[i // 50], value, unit, "WARN" if i % 997 == 0 else "OK"))
    return out


@cache
def sensor_payload(as_xml: bool) -> bytes:
    """The 100 000-row SENSOR_READINGS_BULK result, serialized once per format and cached."""
    fields = _sensor_fields()
    if as_xml:
        body = "".join(
            f"<row><sensorId>{s}</sensorId><timestamp>{t}</timestamp><value>{v}</value>"
            f"<unit>{u}</unit><status>{st}</status></row>"
            for s, t, v, u, st in fields
        )
        return f'<?xml version="1.0" encoding="utf-8"?>\n<data>{body}</data>'.encode()
    body = ",".join(
        f'{{"sensorId":"{s}","timestamp":"{t}","value":{v},"unit":"{u}","status":"{st}"}}'
        for s, t, v, u, st in fields
    )
    return f'{{"data":[{body}]}}'.encode()


# The archive's sensors: SG-001 … SG-200, readings every 15 minutes from 2023-01-01, sensor after sensor.
ARCHIVE_SENSORS = 200
ARCHIVE_ROWS_PER_CHUNK = 2000


def archive_status(i: int) -> str:
    """Reading ``i``'s status: WARN every 997th; FAULT on SG-042 every 250th of its own readings."""
    if i % 997 == 0:
        return "WARN"
    if i % ARCHIVE_SENSORS == 41 and i // ARCHIVE_SENSORS % 250 == 0:
        return "FAULT"
    return "OK"


def archive_chunks(as_xml: bool, rows: int = seed.ARCHIVE_ROW_COUNT) -> Iterator[bytes]:
    """The SENSOR_READINGS_ARCHIVE body, made as it is sent, ``ARCHIVE_ROWS_PER_CHUNK`` rows at a time:
    1 000 000 readings (about 100 MB of JSON) are never held whole. The same bytes on every call."""
    sensors = [(f"SG-{s + 1:03d}", "microstrain" if s % 5 else "mm") for s in range(ARCHIVE_SENSORS)]
    base = datetime(2023, 1, 1, tzinfo=UTC)
    if as_xml:
        row = (
            "<row><sensorId>{}</sensorId><timestamp>{}</timestamp><value>{}</value><unit>{}</unit>"
            "<status>{}</status></row>"
        )
        yield b'<?xml version="1.0" encoding="utf-8"?>\n<data>'
    else:
        row = '{{"sensorId":"{}","timestamp":"{}","value":{},"unit":"{}","status":"{}"}}'
        yield b'{"data":['
    for first in range(0, rows, ARCHIVE_ROWS_PER_CHUNK):
        parts = []
        for i in range(first, min(rows, first + ARCHIVE_ROWS_PER_CHUNK)):
            if i % ARCHIVE_SENSORS == 0:
                stamp = (base + timedelta(minutes=15 * (i // ARCHIVE_SENSORS))).strftime("%Y-%m-%dT%H:%M:%SZ")
            sensor, unit = sensors[i % ARCHIVE_SENSORS]
            value = f"{10 + (i * 7919 % 40000) / 1000:.3f}"
            parts.append(row.format(sensor, stamp, value, unit, archive_status(i)))
        text = "".join(parts) if as_xml else ",".join(parts)
        yield (text if as_xml or first == 0 else "," + text).encode()
    yield b"</data>" if as_xml else b"]}"


# --- OData ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntitySet:
    name: str
    key: str
    properties: tuple[tuple[str, str], ...]  # (name, Edm type)
    rows: tuple[Row, ...]


def _set(
    name: str, key: str, props: tuple[tuple[str, str], ...], make: Callable[[int], Row], n: int
) -> EntitySet:
    return EntitySet(name, key, props, tuple(make(i) for i in range(n)))


@cache
def entity_sets() -> dict[str, EntitySet]:
    """The ODT_APIM_TEST entity sets (shared by every iTwin)."""
    makers = ("Siemens", "ABB", "Flowserve", "Grundfos", "Mageba", "Schneider")
    flocs = ("NG-BR-AB01", "NG-BR-PR01", "NG-BR-PR02", "NG-BR-SP01", "NG-BR-SP02", "NG-BR-AB02")
    sets = (
        _set(
            "SAP_Equipments_Read",
            "Equipment",
            (
                ("Equipment", "Edm.String"),
                ("Description", "Edm.String"),
                ("FunctionalLocation", "Edm.String"),
                ("Plant", "Edm.String"),
                ("Manufacturer", "Edm.String"),
                ("ConstructionYear", "Edm.Int32"),
                ("AcquisitionValue", "Edm.Decimal"),
                ("InService", "Edm.Boolean"),
            ),
            lambda i: {
                "Equipment": str(10000001 + i),
                "Description": f"{_TASKS[i % 9].split()[-1].title()} unit {i + 1}",
                "FunctionalLocation": flocs[i % 6],
                "Plant": "NG01",
                "Manufacturer": makers[i % 6],
                "ConstructionYear": 1995 + (i * 3) % 28,
                "AcquisitionValue": round(1250.5 * (i % 7 + 1), 2),
                "InService": i % 5 != 4,
            },
            30,
        ),
        _set(
            "SAP_Funcloc_Read",
            "FunctionalLocation",
            (
                ("FunctionalLocation", "Edm.String"),
                ("Description", "Edm.String"),
                ("Plant", "Edm.String"),
                ("Category", "Edm.String"),
                ("SuperiorFunctionalLocation", "Edm.String"),
            ),
            lambda i: {
                "FunctionalLocation": f"NG-BR-{('AB', 'PR', 'SP')[i % 3]}{i // 3 + 1:02d}",
                "Description": f"{('Abutment', 'Pier', 'Span')[i % 3]} {i // 3 + 1}",
                "Plant": "NG01",
                "Category": "B" if i % 3 == 2 else "S",
                "SuperiorFunctionalLocation": None if i < 3 else "NG-BR",
            },
            15,
        ),
        _set(
            "SAP_Material_Read",
            "Material",
            (
                ("Material", "Edm.String"),
                ("Description", "Edm.String"),
                ("MaterialType", "Edm.String"),
                ("BaseUnit", "Edm.String"),
                ("Price", "Edm.Decimal"),
                ("StockQuantity", "Edm.Int32"),
            ),
            lambda i: {
                "Material": f"MAT-{200 + i}",
                "Description": f"{_PARTS[i % 5]} type {i // 5 + 1}",
                "MaterialType": ("ERSA", "HAWA")[i % 2],
                "BaseUnit": ("EA", "EA", "KG", "EA", "L")[i % 5],
                "Price": round(4.75 * (i % 9 + 1), 2),
                "StockQuantity": (i * 37) % 500,
            },
            25,
        ),
        _set(
            "SAP_Work_Orders_Read",
            "WorkOrder",
            (
                ("WorkOrder", "Edm.String"),
                ("Description", "Edm.String"),
                ("Plant", "Edm.String"),
                ("Status", "Edm.String"),
                ("Priority", "Edm.Int32"),
                ("ScheduledStart", "Edm.DateTimeOffset"),
                ("Equipment", "Edm.String"),
            ),
            lambda i: {
                "WorkOrder": str(4000100 + i),
                "Description": f"{_TASKS[i % 9]}, span {i % 6 + 1}",
                "Plant": "NG01",
                "Status": _STATUSES[i % 5],
                "Priority": i % 4 + 1,
                "ScheduledStart": f"{date(2024, 4, 1) + timedelta(days=2 * i)}T06:00:00Z",
                "Equipment": str(10000001 + i % 30),
            },
            40,
        ),
    )
    return {s.name: s for s in sets}
