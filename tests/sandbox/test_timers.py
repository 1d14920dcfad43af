"""Timers (4.12-4.15) and the cron rule of §8, sent over HTTP with the cases the tools check."""

from __future__ import annotations

import pytest

from edfs_mcp import cron
from edfs_mcp.sandbox import SandboxServer, seed
from tests.cron_cases import ACCEPTED, REFUSED
from tests.sandbox.helpers import Api, error_of

NG = seed.ITWIN_NORTHGATE_BRIDGE
TIMERS = f"/edfs/itwins/{NG}/timers"
TIMER_FIELDS = {"id", "name", "packageUniqueName", "cronStr", "enabled", "parameters"}
NEW = {
    "name": "SAP_WORK_ORDERS at 00:00 on Saturday and Sunday",
    "packageUniqueName": "SAP_WORK_ORDERS",
    "cronStr": "0 0 * * 6,0",
    "enabled": True,
    "parameters": [{"name": "Parameter", "value": "Value"}],
}


def test_list_timers_returns_the_seeded_ones(operator: Api, server: SandboxServer) -> None:
    timers = operator.get(TIMERS).json()["timers"]
    by_id = {t["id"]: t for t in timers}
    nightly = by_id[seed.TIMER_NORTHGATE_SAP_NIGHTLY]
    assert set(nightly) == TIMER_FIELDS
    assert (nightly["name"], nightly["cronStr"], nightly["enabled"]) == (
        "SAP_WORK_ORDERS at 22:00 on Monday through Friday",
        "0 22 * * 1-5",
        False,
    )
    monthly = by_id[seed.TIMER_NORTHGATE_SQL_MONTHLY]
    assert (monthly["cronStr"], monthly["enabled"]) == ("15 14 1 * *", True)
    assert monthly["parameters"]
    assert timers == server.state.timers_of(NG)


def test_create_timer_is_201_with_an_id_and_listed(operator: Api, server: SandboxServer) -> None:
    response = operator.post(TIMERS, json=NEW)
    assert response.status_code == 201
    created = response.json()
    assert set(created) == TIMER_FIELDS
    assert {k: v for k, v in created.items() if k != "id"} == NEW
    assert created["id"] in {t["id"] for t in operator.get(TIMERS).json()["timers"]}
    assert server.state.writes["timer_create"] == 1


def test_create_timer_defaults_enabled_and_parameters(admin: Api) -> None:
    created = admin.post(
        TIMERS, json={"name": "n", "packageUniqueName": "MAXIMO_ASSETS", "cronStr": "*/15 * * * *"}
    ).json()
    assert created["enabled"] is True
    assert created["parameters"] == []


@pytest.mark.parametrize(
    ("change", "target"),
    [
        ({"cronStr": None}, "cronStr"),
        ({"cronStr": " "}, "cronStr"),
        ({"name": None}, "name"),
        ({"name": "  "}, "name"),
        ({"packageUniqueName": None}, "packageUniqueName"),
        ({"packageUniqueName": "SHAREPOINT_DOCUMENTS"}, "packageUniqueName"),  # not subscribed by Northgate
        ({"enabled": "yes"}, "enabled"),
        ({"parameters": {"a": "b"}}, "parameters"),
    ],
)
def test_create_timer_validates_the_body(
    admin: Api, server: SandboxServer, change: dict[str, object], target: str
) -> None:
    body = {k: v for k, v in {**NEW, **change}.items() if v is not None}
    response = admin.post(TIMERS, json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert (error["code"], error["message"]) == ("InvalidTimerRequest", "Cannot create Timer.")
    assert target in [d["target"] for d in error["details"]]
    assert server.state.writes["timer_create"] == 0


def test_create_timer_with_malformed_json_is_422(admin: Api) -> None:
    response = admin.post(TIMERS, content=b'{"name": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert error_of(response)["code"] == "InvalidTimerRequest"


@pytest.mark.parametrize("expression", ACCEPTED)
def test_create_timer_accepts_the_shared_crons_as_sent(admin: Api, expression: str) -> None:
    response = admin.post(TIMERS, json={**NEW, "cronStr": expression})
    assert response.status_code == 201, response.text
    assert response.json()["cronStr"] == expression


@pytest.mark.parametrize(("expression", "words"), REFUSED)
def test_create_timer_refuses_the_shared_crons_with_the_tools_words(
    admin: Api, server: SandboxServer, expression: str, words: str
) -> None:
    response = admin.post(TIMERS, json={**NEW, "cronStr": expression})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "InvalidTimerRequest"
    [detail] = error["details"]
    assert detail["target"] == "cronStr"
    assert words in detail["message"] and detail["message"] == cron.problem(expression)
    assert server.state.writes["timer_create"] == 0


def test_toggle_flips_enabled_and_returns_the_timer(operator: Api, server: SandboxServer) -> None:
    url = f"{TIMERS}/{seed.TIMER_NORTHGATE_SAP_NIGHTLY}/toggle"
    first = operator.patch(url)
    assert first.status_code == 200
    timer = first.json()
    assert set(timer) == TIMER_FIELDS
    assert timer["id"] == seed.TIMER_NORTHGATE_SAP_NIGHTLY
    assert timer["enabled"] is True
    assert operator.patch(url, content=b"ignored {").json()["enabled"] is False
    assert server.state.writes["timer_toggle"] == 2
    [stored] = [t for t in server.state.timers_of(NG) if t["id"] == seed.TIMER_NORTHGATE_SAP_NIGHTLY]
    assert stored["enabled"] is False


def test_toggle_of_a_timer_on_another_itwin_is_not_found(admin: Api) -> None:
    response = admin.patch(f"{TIMERS}/{seed.TIMER_RIVERSIDE_SQL_WEEKLY}/toggle")
    assert response.status_code == 404
    assert error_of(response)["code"] == "TimerNotFound"


def test_delete_timer_is_204_then_404(operator: Api, server: SandboxServer) -> None:
    url = f"{TIMERS}/{seed.TIMER_NORTHGATE_SQL_MONTHLY}"
    response = operator.delete(url)
    assert response.status_code == 204
    assert response.content == b""
    assert seed.TIMER_NORTHGATE_SQL_MONTHLY not in {t["id"] for t in server.state.timers_of(NG)}
    again = operator.delete(url)
    assert again.status_code == 404
    assert error_of(again)["code"] == "TimerNotFound"
    assert server.state.writes["timer_delete"] == 1


def test_timer_ids_are_case_insensitive(admin: Api) -> None:
    response = admin.patch(f"{TIMERS}/{seed.TIMER_NORTHGATE_SAP_NIGHTLY.upper()}/toggle")
    assert response.status_code == 200


def test_timers_of_an_itwin_without_timers_is_an_empty_list(admin: Api, server: SandboxServer) -> None:
    assert admin.get(f"/edfs/itwins/{seed.ITWIN_EASTLINE_RAIL}/timers").json() == {"timers": []}
    assert server.state.timers_of(seed.ITWIN_EASTLINE_RAIL) == []
