"""Payload models: input examples, tolerant parsing."""

from edfs_mcp.api.models import Package, PackageSystem, Timer, Variable, example_variables

DOCUMENTED_INPUT_EXAMPLE = (
    '{ "variables": [ { "name": "Parameter", "value": "Value" }, { "name": "TableNames", "value": '
    '"Translator" }, { "name": "CustomerID", "value": "ACME" } ], "returnAsXml": false }'
)


def test_example_variables_from_the_documented_input_example() -> None:
    variables, as_xml = example_variables(DOCUMENTED_INPUT_EXAMPLE)
    assert variables == [
        Variable(name="Parameter", value="Value"),
        Variable(name="TableNames", value="Translator"),
        Variable(name="CustomerID", value="ACME"),
    ]
    assert as_xml is False


def test_example_variables_tolerates_other_casing_and_odd_values() -> None:
    variables, as_xml = example_variables(
        '{"Variables":[{"name":"Plant","value":1000},{"name":"X"},{"v":1}]}'
    )
    assert variables == [Variable(name="Plant", value="1000"), Variable(name="X", value="")]
    assert as_xml is None


def test_example_variables_of_garbage_is_empty() -> None:
    for text in (None, "", "not json", "[1,2]", '{"variables": 3}'):
        assert example_variables(text) == ([], None)


def test_package_ignores_unknown_fields_and_reads_camel_case() -> None:
    package = Package.model_validate(
        {"uniqueName": "SAP_WORK_ORDERS", "name": "SAP", "isOdata": True, "somethingNew": [1]}
    )
    assert package.unique_name == "SAP_WORK_ORDERS" and package.is_odata is True


def test_package_system_required_is_a_string() -> None:
    assert PackageSystem.model_validate(
        {"systemId": "a", "systemType": "EDF.Sql", "required": "Yes"}
    ).is_required
    assert not PackageSystem.model_validate(
        {"systemId": "a", "systemType": "EDF.Sql", "required": "No"}
    ).is_required


def test_timer_round_trips_to_the_wire_shape() -> None:
    wire = {
        "id": "00000000-0000-0000-0000-000000000000",
        "name": "SAP_WORK_ORDERS at 00:00 on Saturday and Sunday",
        "packageUniqueName": "SAP_WORK_ORDERS",
        "cronStr": "0 0 * * 6,0",
        "enabled": True,
        "parameters": [{"name": "Parameter", "value": "Value"}],
    }
    assert Timer.model_validate(wire).model_dump(by_alias=True) == wire
