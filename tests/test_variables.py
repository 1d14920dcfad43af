import pytest

from edfs_mcp.variables import check_variable_names, closest_documented

DOCUMENTED = ["SiteId", "AssetType", "Plant", "Status", "FromDate"]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("AssetTyp", "AssetType"),  # a letter short
        ("assettype", "AssetType"),  # a case change
        ("ASSETTYPE", "AssetType"),
        ("AsestType", "AssetType"),  # two letters swapped
        ("SiteID", "SiteId"),
        ("Plnat", "Plant"),
        ("FromDat", "FromDate"),
        ("Colour", None),  # nothing near
        ("Type", None),  # too far from AssetType
        ("", None),
    ],
)
def test_closest_documented(given: str, expected: str | None) -> None:
    assert closest_documented(given, DOCUMENTED) == expected


def test_a_name_near_two_documented_ones_is_not_guessed() -> None:
    assert closest_documented("Stat", ["Stat1", "Stat2"]) is None


def test_names_are_sorted_into_documented_misspelled_and_undocumented() -> None:
    check = check_variable_names(["Plant", "AssetTyp", "Colour"], DOCUMENTED)
    assert check.misspelled == {"AssetTyp": "AssetType"}
    assert check.undocumented == ["Colour"]


def test_without_documented_names_everything_is_undocumented() -> None:
    check = check_variable_names(["A"], [])
    assert check.misspelled == {} and check.undocumented == ["A"]
