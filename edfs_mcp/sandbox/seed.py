"""Fixed seed data for the sandbox: organizations, iTwins, identities, OAuth clients, packages, timers.

Every ID is a literal GUID so tests and docs can name it. Payload generators live in ``fixtures``.

Long because it is data: every literal the sandbox serves (organizations, iTwins, people, clients,
packages, systems, timers, roles) is named once here so tests and docs can use it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

# --- Organizations ---------------------------------------------------------------------------------
ORG_NORTHGATE = "6f1c2a9e-3b47-4d2e-8a51-1c0e7f9b2a01"
ORG_HARBOR = "d84e0b3c-92f1-47a6-b3d8-5e2a9c1f7b02"
ORGANIZATIONS: dict[str, str] = {
    ORG_NORTHGATE: "Northgate Civil Engineering",
    ORG_HARBOR: "Harbor Infrastructure Partners",
}

# --- iTwins ----------------------------------------------------------------------------------------
ITWIN_NORTHGATE_BRIDGE = "2f4b8c1e-7a3d-4e59-b6c0-91d2e3f4a5b1"
ITWIN_RIVERSIDE_WTP = "8a3e5d27-1c94-4b0f-a7e2-5d6c7b8a9f02"
ITWIN_EASTLINE_RAIL = "c7d1f093-2b58-4a6e-9f31-e4a5b6c7d803"
ITWIN_PUMP_STATION_14 = "4e9a2b71-6d03-4c8f-b215-7a8b9c0d1e04"
ITWIN_OLD_DEPOT = "91f0c6d4-8e27-4b3a-a5c9-3b4c5d6e7f05"
ITWIN_NORTHGATE_SIGNALS = "5d2c7e18-9a46-4f0b-8c73-a1b2c3d4e506"
ITWIN_HARBOR_TUNNEL = "e3b6a4f2-5c19-4d87-b0e4-6f7a8b9c0d07"

ACCOUNT_NORTHGATE = "0b7e9d15-4f62-4a3c-9e8d-2c1b0a9f8e10"
ACCOUNT_HARBOR = "3c8f0e26-5a73-4b4d-8f9e-3d2c1b0a9f11"


@dataclass(frozen=True)
class ITwinSeed:
    id: str
    display_name: str
    number: str
    sub_class: str  # "Project" | "Asset" | ...
    organization_id: str
    status: str = "Active"
    created: str = "2024-02-12T09:30:00.000Z"
    type: str | None = None


# fmt: off
ITWINS: tuple[ITwinSeed, ...] = (
    ITwinSeed(ITWIN_NORTHGATE_BRIDGE, "Northgate Bridge Rehabilitation", "NG-BR-2024", "Project",
              ORG_NORTHGATE, type="Bridge"),
    ITwinSeed(ITWIN_RIVERSIDE_WTP, "Riverside Water Treatment Plant", "RWT-0331", "Project", ORG_NORTHGATE,
              created="2023-11-07T13:45:00.000Z", type="Water Treatment"),
    ITwinSeed(ITWIN_EASTLINE_RAIL, "Eastline Light Rail Extension", "ELR-EXT-07", "Project", ORG_NORTHGATE,
              created="2024-05-30T10:00:00.000Z", type="Rail"),
    ITwinSeed(ITWIN_PUMP_STATION_14, "Pump Station 14", "PS-14", "Asset", ORG_NORTHGATE,
              created="2022-08-15T07:20:00.000Z", type="Pump Station"),
    ITwinSeed(ITWIN_OLD_DEPOT, "Old Depot Survey", "OD-SURV-19", "Project", ORG_NORTHGATE, "Inactive",
              "2019-06-03T14:00:00.000Z", type="Survey"),
    ITwinSeed(ITWIN_NORTHGATE_SIGNALS, "Northgate Signals Upgrade", "NG-SIG-2025", "Project", ORG_NORTHGATE,
              "Trial", "2025-01-20T08:15:00.000Z", type="Signalling"),
    ITwinSeed(ITWIN_HARBOR_TUNNEL, "Harbor Tunnel Retrofit", "HT-RF-2023", "Project", ORG_HARBOR,
              type="Tunnel"),
)
# fmt: on

# --- Identities and permissions --------------------------------------------------------------------
IDENTITY_ADMIN = "a3f0c1d2-6b5e-4e7f-9a01-b2c3d4e5f611"
IDENTITY_OPERATOR = "b4e1d2c3-7c6f-4f80-8b12-c3d4e5f6a722"
IDENTITY_VIEWER = "c5f2e3d4-8d70-4091-9c23-d4e5f6a7b833"
IDENTITY_HARBOR_ADMIN = "d6a3f4e5-9e81-41a2-8d34-e5f6a7b8c944"

PROJMNG = "edfs_projmng"
CREDMNG = "edfs_credmng"
LISTMNG = "edfs_listmng"
ILSMNG = "edfs_ilsmng"
EXEC = "edfs_objipexec"
MANAGE_ROLES = "administration_manage_roles"
ITWINS_READ = "itwins_read"


@dataclass(frozen=True)
class ITwinRoleSeed:
    """An Access Control iTwin role: its permissions count on each iTwin where someone holds it."""

    name: str
    description: str
    permissions: tuple[str, ...]


# Every iTwin has these roles (Access Control defines roles per iTwin; IDs: ``itwin_role_id``).
# edfs_objipexec is in none of them: it comes per package, from the package roles (4.16-4.20).
ITWIN_ROLE_EDFS_INTEGRATION = "EDFS_integration"
ITWIN_ROLE_PROJECT_MANAGER = "Project Manager"
ITWIN_ROLE_PROJECT_ADMINISTRATOR = "Project Administrator"
ITWIN_ROLE_VIEWER = "Viewer"
ITWIN_ROLES: tuple[ITwinRoleSeed, ...] = (
    ITwinRoleSeed(
        ITWIN_ROLE_EDFS_INTEGRATION, "Runs the EDFS packages its package roles allow", (ITWINS_READ,)
    ),
    ITwinRoleSeed(
        ITWIN_ROLE_PROJECT_MANAGER,
        "Manages the iTwin's EDFS timers and systems",
        (ITWINS_READ, LISTMNG, CREDMNG),
    ),
    ITwinRoleSeed(
        ITWIN_ROLE_PROJECT_ADMINISTRATOR,
        "Manages the iTwin's roles and EDFS package roles",
        (ITWINS_READ, MANAGE_ROLES, ILSMNG),
    ),
    ITwinRoleSeed(ITWIN_ROLE_VIEWER, "Sees the iTwin and its data", (ITWINS_READ,)),
)


@dataclass(frozen=True)
class Identity:
    """A signed-in user or service identity; ``org_admin`` passes every check in its organization."""

    id: str
    name: str
    email: str
    organization_id: str
    org_admin: bool = False
    org_permissions: frozenset[str] = frozenset()
    # iTwin -> the iTwin roles (names) held there; iTwin permissions come only from these roles.
    itwin_roles: dict[str, frozenset[str]] = field(default_factory=dict)
    member_of: frozenset[str] = frozenset()


_NORTHGATE_ITWINS = frozenset(t.id for t in ITWINS if t.organization_id == ORG_NORTHGATE)

# The whole permission model, one row per identity.
IDENTITIES: tuple[Identity, ...] = (
    Identity(
        IDENTITY_ADMIN,
        "Avery Admin",
        "avery.admin@northgate.example",
        ORG_NORTHGATE,
        org_admin=True,
        member_of=_NORTHGATE_ITWINS,
    ),
    Identity(
        IDENTITY_OPERATOR,
        "Oscar Operator",
        "oscar.operator@northgate.example",
        ORG_NORTHGATE,
        org_permissions=frozenset({PROJMNG}),
        itwin_roles={
            ITWIN_NORTHGATE_BRIDGE: frozenset({ITWIN_ROLE_EDFS_INTEGRATION, ITWIN_ROLE_PROJECT_MANAGER}),
            ITWIN_RIVERSIDE_WTP: frozenset({ITWIN_ROLE_EDFS_INTEGRATION}),
            ITWIN_EASTLINE_RAIL: frozenset({ITWIN_ROLE_VIEWER}),
        },
        member_of=frozenset({ITWIN_NORTHGATE_BRIDGE, ITWIN_RIVERSIDE_WTP, ITWIN_EASTLINE_RAIL}),
    ),
    Identity(
        IDENTITY_VIEWER,
        "Vera Viewer",
        "vera.viewer@northgate.example",
        ORG_NORTHGATE,
        # A Viewer everywhere: no EDFS permission until a package role is given to Viewer.
        itwin_roles={
            ITWIN_NORTHGATE_BRIDGE: frozenset({ITWIN_ROLE_VIEWER}),
            ITWIN_RIVERSIDE_WTP: frozenset({ITWIN_ROLE_VIEWER}),
        },
        member_of=frozenset({ITWIN_NORTHGATE_BRIDGE, ITWIN_RIVERSIDE_WTP}),
    ),
    Identity(
        IDENTITY_HARBOR_ADMIN,
        "Hana Harbor",
        "hana.harbor@harbor.example",
        ORG_HARBOR,
        org_admin=True,
        member_of=frozenset({ITWIN_HARBOR_TUNNEL}),
    ),
)

# --- People who sign in interactively (device flow, authorization code) ------------------------------
# Each sandbox user acts as one identity above, so user tokens pass the same permission checks.
SANDBOX_PASSWORD = "demo-pass-4821"  # every sandbox user's password; demo data, not a secret
USER_ADMIN = "avery"
USER_OPERATOR = "oscar"
USER_VIEWER = "vera"
USER_HARBOR_ADMIN = "hana"
AUTO_APPROVE_USER = USER_ADMIN  # who approves device and authorization requests under --auto-approve

USERS: dict[str, str] = {  # username -> identity ID
    USER_ADMIN: IDENTITY_ADMIN,
    USER_OPERATOR: IDENTITY_OPERATOR,
    USER_VIEWER: IDENTITY_VIEWER,
    USER_HARBOR_ADMIN: IDENTITY_HARBOR_ADMIN,
}

# --- OAuth clients ---------------------------------------------------------------------------------
CLIENT_ADMIN_ID = "edfs-sandbox-admin"
CLIENT_ADMIN_SECRET = "sandbox-admin-secret-3Qk9"
CLIENT_OPERATOR_ID = "edfs-sandbox-operator"
CLIENT_OPERATOR_SECRET = "sandbox-operator-secret-7Vd2"
CLIENT_VIEWER_ID = "edfs-sandbox-viewer"
CLIENT_VIEWER_SECRET = "sandbox-viewer-secret-1Mx8"
CLIENT_HARBOR_ADMIN_ID = "edfs-sandbox-harbor-admin"
CLIENT_HARBOR_ADMIN_SECRET = "sandbox-harbor-secret-5Tz4"
PUBLIC_CLIENT_ID = "edfs-mcp-sandbox-cli"  # native app: no secret, PKCE S256, device flow
WEB_CLIENT_ID = "edfs-sandbox-web"  # confidential web app: authorization code + secret
WEB_CLIENT_SECRET = "sandbox-web-secret-8Hn6"

SCOPE = "itwin-platform"
OFFLINE_ACCESS = "offline_access"
SCOPES_SUPPORTED = ("itwin-platform", "openid", "profile", "email", "organization", "offline_access")
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Loopback redirect URIs match on any port (RFC 8252 section 7.3); see ``oauth.redirect_uri_matches``.
SIGNIN_CALLBACK = "http://localhost:3301/signin-callback"
LOOPBACK_REDIRECT_URIS = (
    SIGNIN_CALLBACK,
    "http://127.0.0.1:3301/signin-callback",
    "http://[::1]:3301/signin-callback",
)


@dataclass(frozen=True)
class ClientSeed:
    """An OAuth client. Service clients act as ``identity_id``; the others sign users in."""

    client_id: str
    secret: str | None
    identity_id: str | None
    grant_types: tuple[str, ...]
    redirect_uris: tuple[str, ...] = ()


CLIENTS: tuple[ClientSeed, ...] = (
    ClientSeed(CLIENT_ADMIN_ID, CLIENT_ADMIN_SECRET, IDENTITY_ADMIN, ("client_credentials",)),
    ClientSeed(CLIENT_OPERATOR_ID, CLIENT_OPERATOR_SECRET, IDENTITY_OPERATOR, ("client_credentials",)),
    ClientSeed(CLIENT_VIEWER_ID, CLIENT_VIEWER_SECRET, IDENTITY_VIEWER, ("client_credentials",)),
    ClientSeed(
        CLIENT_HARBOR_ADMIN_ID, CLIENT_HARBOR_ADMIN_SECRET, IDENTITY_HARBOR_ADMIN, ("client_credentials",)
    ),
    ClientSeed(
        PUBLIC_CLIENT_ID,
        None,
        None,
        ("authorization_code", "refresh_token", DEVICE_CODE_GRANT),
        LOOPBACK_REDIRECT_URIS,
    ),
    ClientSeed(
        WEB_CLIENT_ID,
        WEB_CLIENT_SECRET,
        None,
        ("authorization_code", "refresh_token"),
        LOOPBACK_REDIRECT_URIS,
    ),
)

# --- Packages (catalogue) --------------------------------------------------------------------------
SAP_WORK_ORDERS = "SAP_WORK_ORDERS"
SQL_CUSTOMERS_TABLE = "SQL_CUSTOMERS_TABLE"
MAXIMO_ASSETS = "MAXIMO_ASSETS"
ODT_APIM_TEST = "ODT_APIM_TEST"
SENSOR_READINGS_BULK = "SENSOR_READINGS_BULK"
SHAREPOINT_DOCUMENTS = "SHAREPOINT_DOCUMENTS"
SENSOR_READINGS_ARCHIVE = "SENSOR_READINGS_ARCHIVE"

SENSOR_ROW_COUNT = 100_000
# SENSOR_READINGS_ARCHIVE: generated on each request, streamed, never stored (about 100 MB of JSON).
ARCHIVE_ROW_COUNT = 1_000_000
ODATA_ENTITY_SETS = ("SAP_Equipments_Read", "SAP_Funcloc_Read", "SAP_Material_Read", "SAP_Work_Orders_Read")


@dataclass(frozen=True)
class SystemReq:
    system_id: str
    system_type: str
    required: str  # "Yes" | "No" -- a string in the API


@dataclass(frozen=True)
class PackageSeed:
    unique_name: str
    name: str
    description: str
    version: str
    project_stage: str
    is_odata: bool
    last_change: str
    input_example: str  # JSON held in a string, as the API sends it
    response_example: str
    systems: tuple[SystemReq, ...]


PACKAGES: tuple[PackageSeed, ...] = (
    PackageSeed(
        SAP_WORK_ORDERS,
        "SAP Work Orders",
        "Reads plant-maintenance work orders (PM orders) from SAP S/4HANA for the iTwin's maintenance plant.",
        "1.4.2",
        "Current",
        False,
        "2024-03-18T10:42:11.52+00:00",
        '{ "variables": [ { "name": "Plant", "value": "NG01" }, { "name": "Status", "value": "REL" }, '
        '{ "name": "FromDate", "value": "2024-04-01" } ], "returnAsXml": false }',
        '{"data": [{ "WorkOrder": "4000100", "Plant": "NG01", "Status": "REL", '
        '"Description": "Inspect bearing, pier 2", "Priority": "2", "ScheduledStart": "2024-04-08", '
        '"Equipment": "10000002", "FunctionalLocation": "NG-BR-PR02"}] }',
        (SystemReq("sap_prod", "EDF.Sap", "Yes"),),
    ),
    PackageSeed(
        SQL_CUSTOMERS_TABLE,
        "Sql Customers",
        "Returns rows of the Customers table from a SQL Server database.",
        "0.0.1",
        "Preview",
        False,
        "2024-04-24T13:03:26.24-04:00",
        '{ "variables": [ { "name": "Parameter", "value": "Value" }, { "name": "TableNames", "value": '
        '"Translator" }, { "name": "CustomerID", "value": "ACME" } ], "returnAsXml": false }',
        '{"DATA": [{ "CustomerID" : "ACME ","CompanyName" : "ACME Ltd.","ContactName" : "Joe Bloggs"}] }',
        (SystemReq("local_sql_server", "EDF.Sql", "Yes"),),
    ),
    PackageSeed(
        MAXIMO_ASSETS,
        "IBM Maximo Assets",
        "Reads assets and their condition ratings from IBM Maximo Manage.",
        "2.1.0",
        "Current",
        False,
        "2024-02-02T08:15:00.00+00:00",
        '{ "variables": [ { "name": "SiteId", "value": "NGATE" }, '
        '{ "name": "AssetType", "value": "PUMP" } ], "returnAsXml": false }',
        '{"data": [{ "assetnum": "PMP-1001", "siteid": "NGATE", "assettype": "PUMP", '
        '"description": "Raw water pump 1", "status": "OPERATING", "condition": 3}] }',
        (SystemReq("maximo_prod", "EDF.Maximo", "Yes"), SystemReq("maximo_reporting_db", "EDF.Sql", "No")),
    ),
    PackageSeed(
        ODT_APIM_TEST,
        "OData SAP Test",
        "SAP master data (equipment, functional locations, materials, work orders) served as OData.",
        "0.3.0",
        "Preview",
        True,
        "2024-04-11T16:20:05.10+00:00",
        '{ "variables": [ { "name": "EntitySet", "value": "SAP_Equipments_Read" } ], "returnAsXml": false }',
        '{"data": [{ "Equipment": "10000001", "Description": "Expansion joint, abutment A", '
        '"FunctionalLocation": "NG-BR-AB01", "Plant": "NG01"}] }',
        (SystemReq("apim_gateway", "EDF.Rest", "Yes"),),
    ),
    PackageSeed(
        SENSOR_READINGS_BULK,
        "Sensor Readings (bulk)",
        "Structural-health sensor readings: the full 100 000-row history in one call.",
        "1.0.0",
        "Current",
        False,
        "2024-01-29T07:00:00.00+00:00",
        '{ "variables": [], "returnAsXml": false }',
        '{"data": [{ "sensorId": "SG-001", "timestamp": "2024-01-01T00:00:00Z", "value": 12.5, '
        '"unit": "microstrain", "status": "OK"}] }',
        (SystemReq("sensor_hub", "EDF.Rest", "Yes"),),
    ),
    PackageSeed(
        SENSOR_READINGS_ARCHIVE,
        "Sensor Readings (archive)",
        "Structural-health sensor archive: 1 000 000 readings of 200 sensors in one call (about 100 MB).",
        "1.0.0",
        "Current",
        False,
        "2024-06-03T07:00:00.00+00:00",
        '{ "variables": [], "returnAsXml": false }',
        '{"data": [{ "sensorId": "SG-001", "timestamp": "2023-01-01T00:00:00Z", "value": 10.0, '
        '"unit": "mm", "status": "WARN"}] }',
        (SystemReq("sensor_hub", "EDF.Rest", "Yes"),),
    ),
    PackageSeed(
        SHAREPOINT_DOCUMENTS,
        "SharePoint Documents",
        "Lists documents of a SharePoint document library with their metadata.",
        "1.2.0",
        "Current",
        False,
        "2024-03-01T12:00:00.00+00:00",
        '{ "variables": [ { "name": "Library", "value": "Shared Documents" } ], "returnAsXml": false }',
        '{"data": [{ "name": "Inspection report.pdf", "library": "Shared Documents", '
        '"modified": "2024-02-20T09:12:00Z", "modifiedBy": "Hana Harbor"}] }',
        (SystemReq("sharepoint_online", "EDF.SharePoint", "Yes"),),
    ),
)

# (organization, uniqueName, subscriptionId, subscribedBy, subscribedByName, subscribedOn)
# fmt: off
SUBSCRIPTIONS: tuple[tuple[str, str, str, str, str, str], ...] = (
    (ORG_NORTHGATE, SAP_WORK_ORDERS, "7a1b2c3d-0e1f-4a2b-9c3d-4e5f6a7b8c01", IDENTITY_ADMIN, "Avery Admin",
     "2024-03-20T09:00:00.00+00:00"),
    (ORG_NORTHGATE, SQL_CUSTOMERS_TABLE, "7a1b2c3d-0e1f-4a2b-9c3d-4e5f6a7b8c02",
     "00000000-0000-0000-0000-000000000000", "System", "2024-04-24T13:05:00.00-04:00"),
    (ORG_NORTHGATE, MAXIMO_ASSETS, "7a1b2c3d-0e1f-4a2b-9c3d-4e5f6a7b8c03", IDENTITY_ADMIN, "Avery Admin",
     "2024-02-05T11:30:00.00+00:00"),
    (ORG_NORTHGATE, ODT_APIM_TEST, "7a1b2c3d-0e1f-4a2b-9c3d-4e5f6a7b8c04", IDENTITY_ADMIN, "Avery Admin",
     "2024-04-12T08:00:00.00+00:00"),
    (ORG_NORTHGATE, SENSOR_READINGS_BULK, "7a1b2c3d-0e1f-4a2b-9c3d-4e5f6a7b8c05", IDENTITY_ADMIN,
     "Avery Admin", "2024-02-01T10:00:00.00+00:00"),
    (ORG_NORTHGATE, SENSOR_READINGS_ARCHIVE, "7a1b2c3d-0e1f-4a2b-9c3d-4e5f6a7b8c08", IDENTITY_ADMIN,
     "Avery Admin", "2024-06-04T10:00:00.00+00:00"),
    (ORG_HARBOR, SHAREPOINT_DOCUMENTS, "7a1b2c3d-0e1f-4a2b-9c3d-4e5f6a7b8c06", IDENTITY_HARBOR_ADMIN,
     "Hana Harbor", "2024-03-02T15:00:00.00+00:00"),
    (ORG_HARBOR, SAP_WORK_ORDERS, "7a1b2c3d-0e1f-4a2b-9c3d-4e5f6a7b8c07", IDENTITY_HARBOR_ADMIN,
     "Hana Harbor", "2024-03-02T15:05:00.00+00:00"),
)
# fmt: on

# --- System types (4.5): name, defaultValue, enumValues, dataType ---------------------------------
SYSTEM_TYPE_PROPERTIES: dict[str, tuple[tuple[str, str | None, tuple[str, ...] | None, str], ...]] = {
    "EDF.Sql": (
        ("Server", None, None, "String"),
        ("Database", None, None, "String"),
        ("UserId", None, None, "String"),
        ("Password", None, None, "String"),
        ("IntegratedSecurity", "false", None, "Boolean"),
        ("CommandTimeout", "30", None, "Int32"),
    ),
    "EDF.Sap": (
        ("BaseUrl", None, None, "String"),
        ("Client", "100", None, "String"),
        ("UserName", None, None, "String"),
        ("Password", None, None, "String"),
        ("Language", "EN", ("EN", "DE", "FR"), "String"),
    ),
    "EDF.Maximo": (
        ("BaseUrl", None, None, "String"),
        ("ApiKey", None, None, "String"),
        ("SiteId", None, None, "String"),
    ),
    "EDF.Rest": (
        ("BaseUrl", None, None, "String"),
        ("SubscriptionKey", None, None, "String"),
        ("TimeoutSeconds", "100", None, "Int32"),
    ),
    "EDF.SharePoint": (
        ("SiteUrl", None, None, "String"),
        ("TenantId", None, None, "String"),
        ("ClientId", None, None, "String"),
        ("ClientSecret", None, None, "String"),
    ),
}

# --- Systems (4.9) configured per iTwin; credentials are write-only ---------------------------------
SYSTEM_NORTHGATE_SAP = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a01"
SYSTEM_NORTHGATE_SENSORS = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a02"
SYSTEM_RIVERSIDE_SQL = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a03"
SYSTEM_RIVERSIDE_MAXIMO = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a04"
SYSTEM_HARBOR_SHAREPOINT = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a05"
SYSTEM_NORTHGATE_SQL = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a06"
SYSTEM_NORTHGATE_APIM = "1e2d3c4b-5a69-4788-9a0b-1c2d3e4f5a07"

# (record id, iTwin, systemName, systemId, systemType, credentials)
# fmt: off
SYSTEMS: tuple[tuple[str, str, str, str, str, dict[str, str]], ...] = (
    (SYSTEM_NORTHGATE_SAP, ITWIN_NORTHGATE_BRIDGE, "SAP Production (Northgate)", "sap_prod", "EDF.Sap",
     {"BaseUrl": "https://sap.northgate.example", "UserName": "EDFS_SVC", "Password": "not-a-real-password"}),
    (SYSTEM_NORTHGATE_SENSORS, ITWIN_NORTHGATE_BRIDGE, "Bridge Sensor Hub", "sensor_hub", "EDF.Rest",
     {"BaseUrl": "https://sensors.northgate.example", "SubscriptionKey": "not-a-real-key"}),
    (SYSTEM_NORTHGATE_SQL, ITWIN_NORTHGATE_BRIDGE, "Northgate Sql Server", "local_sql_server", "EDF.Sql",
     {"Server": "sql.northgate.example", "Database": "crm", "UserId": "edfs", "Password": "not-real"}),
    (SYSTEM_NORTHGATE_APIM, ITWIN_NORTHGATE_BRIDGE, "Northgate API gateway", "apim_gateway", "EDF.Rest",
     {"BaseUrl": "https://apim.northgate.example", "SubscriptionKey": "not-a-real-key"}),
    (SYSTEM_RIVERSIDE_SQL, ITWIN_RIVERSIDE_WTP, "Development Sql Server", "local_sql_server", "EDF.Sql",
     {"Server": "dbserver.somewhere.com", "Database": "my-db", "UserId": "myuser", "Password": "P@$$w0rd"}),
    (SYSTEM_RIVERSIDE_MAXIMO, ITWIN_RIVERSIDE_WTP, "Maximo Production", "maximo_prod", "EDF.Maximo",
     {"BaseUrl": "https://maximo.riverside.example", "ApiKey": "not-a-real-key", "SiteId": "RWTP"}),
    (SYSTEM_HARBOR_SHAREPOINT, ITWIN_HARBOR_TUNNEL, "Harbor SharePoint", "sharepoint_online",
     "EDF.SharePoint", {"SiteUrl": "https://harbor.sharepoint.example/sites/tunnel"}),
)
# fmt: on
SYSTEMS_LAST_CHANGE = "2024-04-02T09:15:00.00+00:00"

# --- Timers (4.12) ---------------------------------------------------------------------------------
TIMER_NORTHGATE_SAP_NIGHTLY = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e01"
TIMER_NORTHGATE_SQL_MONTHLY = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e02"
TIMER_NORTHGATE_MAXIMO_NIGHTLY = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e03"
TIMER_RIVERSIDE_SQL_WEEKLY = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e04"
TIMER_HARBOR_SHAREPOINT_DAILY = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e05"

# (iTwin, EdfTimerDto)
TIMERS: tuple[tuple[str, dict[str, object]], ...] = (
    (
        ITWIN_NORTHGATE_BRIDGE,
        {
            "id": TIMER_NORTHGATE_SAP_NIGHTLY,
            "name": "SAP_WORK_ORDERS at 22:00 on Monday through Friday",
            "packageUniqueName": SAP_WORK_ORDERS,
            "cronStr": "0 22 * * 1-5",
            "enabled": False,
            "parameters": [{"name": "Plant", "value": "NG01"}, {"name": "Status", "value": "REL"}],
        },
    ),
    (
        ITWIN_NORTHGATE_BRIDGE,
        {
            "id": TIMER_NORTHGATE_SQL_MONTHLY,
            "name": "SQL_CUSTOMERS_TABLE at 14:15 on day-of-month 1",
            "packageUniqueName": SQL_CUSTOMERS_TABLE,
            "cronStr": "15 14 1 * *",
            "enabled": True,
            "parameters": [
                {"name": "CustomerID", "value": "ACME"},
                {"name": "TableNames", "value": "Translator"},
            ],
        },
    ),
    (
        ITWIN_NORTHGATE_BRIDGE,
        {
            "id": TIMER_NORTHGATE_MAXIMO_NIGHTLY,
            "name": "MAXIMO_ASSETS at 02:30",
            "packageUniqueName": MAXIMO_ASSETS,
            "cronStr": "30 2 * * *",
            "enabled": True,
            "parameters": [{"name": "SiteId", "value": "NGATE"}],
        },
    ),
    (
        ITWIN_RIVERSIDE_WTP,
        {
            "id": TIMER_RIVERSIDE_SQL_WEEKLY,
            "name": "SQL_CUSTOMERS_TABLE at 06:00 on Monday",
            "packageUniqueName": SQL_CUSTOMERS_TABLE,
            "cronStr": "0 6 * * 1",
            "enabled": True,
            "parameters": [],
        },
    ),
    (
        ITWIN_HARBOR_TUNNEL,
        {
            "id": TIMER_HARBOR_SHAREPOINT_DAILY,
            "name": "SHAREPOINT_DOCUMENTS at 07:00",
            "packageUniqueName": SHAREPOINT_DOCUMENTS,
            "cronStr": "0 7 * * *",
            "enabled": True,
            "parameters": [{"name": "Library", "value": "Shared Documents"}],
        },
    ),
)

# --- Package roles (4.16-4.20) ---------------------------------------------------------------------
PACKAGE_ROLE_EXECUTE = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b01"
PACKAGE_ROLES: tuple[tuple[str, str, str], ...] = (
    (PACKAGE_ROLE_EXECUTE, "Execute Integration Package", "Execute Integration Package"),
)
ITWIN_ROLE_NAMES = tuple(role.name for role in ITWIN_ROLES)
# Access Control role IDs are per iTwin; the sandbox derives them (uuid5) from these names.
ROLE_NAMESPACE = "4b7c1e9a-2d3f-4a5b-8c6d-7e8f9a0b1c2d"


def itwin_role_id(itwin_id: str, role_name: str) -> str:
    """The (deterministic) Access Control role ID of ``role_name`` on ``itwin_id``."""
    return str(uuid.uuid5(uuid.UUID(ROLE_NAMESPACE), f"{itwin_id.lower()}/{role_name}"))


def itwin_roles(itwin_id: str) -> dict[str, ITwinRoleSeed]:
    """The iTwin's roles by role ID: the one source for Access Control and the package roles."""
    return {itwin_role_id(itwin_id, role.name): role for role in ITWIN_ROLES}


# (iTwin, package, iTwin role name, package role IDs) assigned at start: EDFS_integration (the
# operator's role) may run every Northgate package on Northgate Bridge and Riverside.
ROLE_ASSIGNMENTS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = tuple(
    (itwin, package, ITWIN_ROLE_EDFS_INTEGRATION, (PACKAGE_ROLE_EXECUTE,))
    for itwin in (ITWIN_NORTHGATE_BRIDGE, ITWIN_RIVERSIDE_WTP)
    for package in (SAP_WORK_ORDERS, SQL_CUSTOMERS_TABLE, MAXIMO_ASSETS, ODT_APIM_TEST, SENSOR_READINGS_BULK)
)
