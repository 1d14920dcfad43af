"""Payload models for EDFS and iTwins: camelCase on the wire, unknown fields tolerated."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "EntitySet",
    "ITwin",
    "ITwinPage",
    "ITwinRole",
    "Package",
    "PackageDetails",
    "PackageRole",
    "PackageRoleRef",
    "PackageSystem",
    "RoleAssignment",
    "System",
    "SystemDraft",
    "SystemTypeProperty",
    "Timer",
    "TimerDraft",
    "Variable",
    "entity_set_columns",
    "example_variables",
]


class _Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Variable(_Wire):
    """A package input variable or timer parameter: ``{name, value}``, both strings."""

    name: str
    value: str


class Package(_Wire):
    """A subscribed integration package (4.1)."""

    unique_name: str
    name: str = ""
    description: str = ""
    version: str = ""
    subscription_id: str | None = None
    subscribed_by_name: str | None = None
    subscribed_on: datetime | None = None
    project_stage: str | None = None
    is_odata: bool = Field(False, validation_alias=AliasChoices("isOdata", "isOData", "is_odata"))


class PackageDetails(Package):
    """Package details (4.2): the examples are strings that hold JSON."""

    last_change: datetime | None = None
    input_example: str | None = None
    response_example: str | None = None


class PackageSystem(_Wire):
    """An external system type a package needs (4.4). ``required`` is the string "Yes"/"No"."""

    system_id: str
    system_type: str
    required: str = "Yes"

    @property
    def is_required(self) -> bool:
        return self.required.strip().lower() in ("yes", "true")


class System(_Wire):
    """A configured system of an iTwin (4.9): metadata only, never credentials."""

    id: str
    system_name: str = ""
    system_id: str
    system_type: str = ""
    last_change: datetime | None = None
    last_change_by: str | None = None
    last_change_by_name: str | None = None


class SystemTypeProperty(_Wire):
    """One credential property of a system type (4.5). Every value travels as a string."""

    name: str
    default_value: str | None = None
    enum_values: list[str] | None = None
    data_type: str = "String"

    @field_validator("default_value", mode="before")
    @classmethod
    def _default_as_text(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value) if isinstance(value, int | float) else value

    @field_validator("enum_values", mode="before")
    @classmethod
    def _enum_as_texts(cls, value: Any) -> Any:
        # The reference shows only null; a list of scalars is read as strings, anything else as none.
        if not isinstance(value, list):
            return None
        return [str(item) for item in value if isinstance(item, str | int | float)] or None


class SystemDraft(_Wire):
    """The body of Create system (4.10). ``credentials`` hold secrets: never shown in a repr, never
    logged, kept only for the one request."""

    name: str
    system_id: str
    system_type: str
    credentials: dict[str, str] = Field(default_factory=dict, repr=False)


class TimerDraft(_Wire):
    """The body of Create Timer (4.13)."""

    name: str
    package_unique_name: str
    cron_str: str
    enabled: bool = True
    parameters: list[Variable] = Field(default_factory=list)


class Timer(TimerDraft):
    """A timer (EdfTimerDto)."""

    id: str


class EntitySet(_Wire):
    """One entry of an OData service document (4.6)."""

    name: str
    kind: str = "EntitySet"
    url: str = ""


class ITwin(_Wire):
    """An iTwin as the iTwins API lists it (minimal representation plus what full adds)."""

    model_config = ConfigDict(alias_generator=None, populate_by_name=True, extra="ignore")

    id: str
    display_name: str = Field("", alias="displayName")
    number: str | None = None
    class_: str | None = Field(None, alias="class")
    sub_class: str | None = Field(None, alias="subClass")
    type: str | None = None
    status: str | None = None


class ITwinPage(BaseModel):
    """A page of iTwins plus whether more can be fetched."""

    items: list[ITwin]
    next_href: str | None = None

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ITwinPage:
        links = body.get("_links") or {}
        next_link = links.get("next") if isinstance(links, dict) else None
        href = next_link.get("href") if isinstance(next_link, dict) else None
        items = [ITwin.model_validate(item) for item in body.get("iTwins") or [] if isinstance(item, dict)]
        return cls(items=items, next_href=href if isinstance(href, str) and href else None)


def example_variables(input_example: str | None) -> tuple[list[Variable], bool | None]:
    """The variables (name + example value) and ``returnAsXml`` of a package's ``inputExample``.

    The reference gives ``inputExample`` as a string holding JSON; anything else yields nothing.
    """
    try:
        document = json.loads(input_example) if input_example else None
    except ValueError:
        return [], None
    if not isinstance(document, dict):
        return [], None
    lowered = {str(key).lower(): value for key, value in document.items()}
    variables: list[Variable] = []
    raw = lowered.get("variables")
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            value = item.get("value")
            variables.append(Variable(name=item["name"], value="" if value is None else str(value)))
    as_xml = lowered.get("returnasxml")
    return variables, as_xml if isinstance(as_xml, bool) else None


def entity_set_columns(csdl: bytes | str) -> dict[str, dict[str, str]]:
    """From an OData ``$metadata`` document (CSDL XML): each entity set's columns and their types.

    Types lose their ``Edm.`` prefix (``String``, ``Decimal``...). Anything unreadable gives ``{}``:
    the columns are a convenience, and the query itself still works without them.
    """
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        root = SafeET.fromstring(csdl)
    except (SafeET.ParseError, DefusedXmlException, ValueError):
        return {}
    types: dict[str, dict[str, str]] = {}
    sets: dict[str, str] = {}
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "EntityType" and element.get("Name"):
            types[element.get("Name", "")] = {
                prop.get("Name", ""): prop.get("Type", "").removeprefix("Edm.")
                for prop in element
                if prop.tag.rsplit("}", 1)[-1] == "Property" and prop.get("Name")
            }
        elif tag == "EntitySet" and element.get("Name"):
            sets[element.get("Name", "")] = element.get("EntityType", "").rsplit(".", 1)[-1]
    return {name: types.get(type_name, {}) for name, type_name in sets.items()}


class PackageRole(_Wire):
    """An EDFS package role (4.16), e.g. "Execute Integration Package"."""

    role_id: str
    name: str
    description: str = ""


class PackageRoleRef(BaseModel):
    """A package role as an assignment names it (4.17)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    package_role_name: str = Field("", alias="packageRoleName")
    package_role_id: str = Field(alias="packageRoleId")


class RoleAssignment(BaseModel):
    """The package roles one iTwin role holds for a package on an iTwin (4.17)."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    itwin_role_name: str = Field("", validation_alias=AliasChoices("iTwinRoleName", "itwinRoleName"))
    itwin_role_id: str = Field(validation_alias=AliasChoices("iTwinRoleId", "itwinRoleId"))
    package_roles: list[PackageRoleRef] = Field(default_factory=list, alias="packageRoles")


class ITwinRole(_Wire):
    """An iTwin role from Access Control (4.21): its ID is what 4.18-4.20 call ``iTwinRoleId``."""

    id: str
    display_name: str = ""
    description: str = ""
    permissions: list[str] = Field(default_factory=list)
