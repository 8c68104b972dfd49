"""Mixed-type tables: reading CSVs that may be wrong, and an encoder that learns from training rows only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from neuralab.data.table import TableEncoder, TableSamples, TargetScaler, read_table
from neuralab.errors import UserError

CSV = "area,location,rooms,price\n50,north,2,100\n70,south,3,150\n,north,,120\n90,east,4,210\n"


def write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_features_of_any_type_and_numeric_targets(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, CSV), ["price"])
    assert table.columns == ["area", "location", "rooms"]
    assert table.rows[1].tolist() == ["70", "south", "3"]
    assert table.targets[:, 0].tolist() == [100, 150, 120, 210]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("area,price\n50,cheap\n", "t.csv:2: target column 'price' holds 'cheap', not a number"),
        ("area,price\n50,1\n60,-1e300\n", "t.csv:3: target column 'price' holds '-1e300', beyond the range of float32"),
        ("area,cost\n50,1\n", "no column 'price'; columns are area, cost"),
        ("area,area,price\n1,2,3\n", "columns ['area'] appear more than once"),
        ("area,price\n1,2\n3\n", "t.csv:3: 1 fields, the header has 2"),
        ("price\n1\n", "every column is a target"),
        ("", "the file is empty"),
        ("area,price\n", "no data rows"),
    ],
)
def test_bad_csvs_are_named_by_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_table(write(tmp_path, text), ["price"])


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("area,lieu,price\n1,Orl\xe9ans,2\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8"):
        read_table(path, ["price"])


def test_a_folder_given_as_the_csv_is_named_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is a folder, not a file"):  # was "does not exist", which it does
        read_table(tmp_path, ["price"])


def test_the_encoder_learns_numbers_and_categories_from_the_rows_it_is_given(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, CSV), ["price"])
    encoder = TableEncoder.fit(table)
    assert [(c.name, c.kind) for c in encoder.columns] == [("area", "numeric"), ("location", "categorical"),
                                                           ("rooms", "numeric")]  # fmt: skip
    assert encoder.columns[1].categories == ["east", "north", "south"]
    assert encoder.output_names() == ["area", "location=east", "location=north", "location=south", "rooms"]
    area = encoder.columns[0]
    assert area.median == 70 and area.mean == pytest.approx(70) and area.std == pytest.approx(np.std([50, 70, 90]))
    encoded = encoder.encode(table.rows)
    assert encoded.imputed == {"area": 1, "rooms": 1}
    assert encoded.features[2, 0] == pytest.approx(0.0)  # the missing area became the median, 70 -> 0
    assert encoded.features[:, 1:4].sum(1).tolist() == [1, 1, 1, 1]


def test_fitting_on_the_training_split_never_sees_the_other_rows(tmp_path: Path) -> None:
    """The leakage guard: what the encoder stores comes only from the rows it was fitted on."""
    table = read_table(write(tmp_path, CSV), ["price"])
    train = table.subset(torch.tensor([0, 1]))
    encoder = TableEncoder.fit(train)
    assert encoder.columns[0].mean == 60 and encoder.columns[1].categories == ["north", "south"]
    held_out = encoder.encode(table.subset(torch.tensor([3])).rows)
    assert held_out.unseen == {"location": ["east"]}
    assert held_out.features[0, 1:3].tolist() == [0, 0]  # an unseen category is no category, and said so
    scaler = TargetScaler.fit(["price"], train.targets)
    assert scaler.mean == [125.0]


def test_the_encoder_round_trips_through_json_and_encodes_identically(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, CSV), ["price"])
    encoder = TableEncoder.fit(table)
    again = TableEncoder.from_dict(json.loads(json.dumps(encoder.to_dict())))
    assert np.array_equal(again.encode(table.rows).features, encoder.encode(table.rows).features)
    scaler = TargetScaler.fit(["price"], table.targets)
    back = TargetScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    assert np.allclose(back.unscale(back.scale(table.targets)), table.targets.numpy())


def test_records_with_unknown_columns_or_nested_values_are_refused(tmp_path: Path) -> None:
    encoder = TableEncoder.fit(read_table(write(tmp_path, CSV), ["price"]))
    with pytest.raises(UserError, match=r"unknown column\(s\) \['aera'\]"):
        encoder.rows_from_records([{"aera": 1}])
    with pytest.raises(UserError, match="holds a list"):
        encoder.rows_from_records([{"area": [1, 2]}])
    with pytest.raises(UserError, match="'many' is not a number"):
        encoder.encode(encoder.rows_from_records([{"area": 1, "location": "north", "rooms": "many"}]))
    absent = encoder.encode(encoder.rows_from_records([{"location": "north"}]))
    assert absent.imputed == {"area": 1, "rooms": 1}


def test_a_string_column_of_identifiers_is_refused_with_a_reason() -> None:
    ids = TableSamples(["id"], np.asarray([[f"user-{i}"] for i in range(500)], dtype=object), torch.zeros(500, 1))
    with pytest.raises(UserError, match="identifier or free text"):
        TableEncoder.fit(ids)
    few_ids = [[f"user-{i}"] for i in range(144)] + [["user-0"]] * 16  # under 200 values, but each seen once
    with pytest.raises(UserError, match="144 different strings, 143 of them only once"):
        TableEncoder.fit(TableSamples(["id"], np.asarray(few_ids, dtype=object), torch.zeros(160, 1)))
    cities = [[f"city-{i % 40}"] for i in range(160)]  # 40 real categories, four rows each: kept
    assert (
        len(
            TableEncoder.fit(TableSamples(["city"], np.asarray(cities, dtype=object), torch.zeros(160, 1)))
            .columns[0]
            .categories
        )
        == 40
    )


@pytest.mark.parametrize("stray", ["inf", "1" + "0" * 400, "12,5"])  # infinite, beyond float64, a decimal comma
def test_a_column_of_numbers_with_a_stray_value_is_refused_not_made_a_category(stray: str) -> None:
    values = [[str(40 + i)] for i in range(99)] + [[stray]]
    areas = TableSamples(["area"], np.asarray(values, dtype=object), torch.zeros(100, 1))
    with pytest.raises(UserError, match="holds numbers except for 1 value") as refused:
        TableEncoder.fit(areas)
    assert len(refused.value.message) < 200  # a 401-digit cell is quoted cut short
    huge = TableSamples(["area"], np.asarray([["40"], ["1e300"]] * 10, dtype=object), torch.zeros(20, 1))
    with pytest.raises(UserError, match="'1e300', beyond the range of float32"):
        TableEncoder.fit(huge)  # float64 holds it; float32 tensors would turn it into inf, then NaN
    encoder = TableEncoder.fit(TableSamples(["area"], np.asarray([["40"], ["50"]], dtype=object), torch.zeros(2, 1)))
    with pytest.raises(UserError, match="too large for float32"):
        encoder.encode(np.asarray([["1e300"]], dtype=object))  # a test or served row
    strings = TableSamples(["size"], np.asarray([["S"], ["M"], ["L"], ["42"]] * 5, dtype=object), torch.zeros(20, 1))
    assert TableEncoder.fit(strings).columns[0].kind == "categorical"  # mostly strings: still a category


def test_california_housing_not_cached_offline_is_a_clear_message(tmp_path: Path) -> None:
    from neuralab.data import DATASETS, LoadOptions

    with pytest.raises(UserError, match="California housing is not cached"):
        DATASETS.get("california-housing").load(LoadOptions(data_dir=tmp_path, download=False))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"names": ["y"], "mean": [1.0], "std": [0.0]}, "one mean and one positive std per name"),
        ({"names": ["y", "z"], "mean": [1.0], "std": [1.0]}, "one mean and one positive std per name"),
        ({"names": ["y"], "mean": [float("nan")], "std": [1.0]}, "target mean: expected a list of finite numbers"),
        ({"names": "y", "mean": [1.0], "std": [1.0]}, "target names: expected a list of names"),
    ],
)
def test_a_tampered_target_scaler_is_refused_by_name(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TargetScaler.from_dict(raw)


def test_a_tampered_table_encoding_is_refused_by_name() -> None:
    good = {"name": "age", "kind": "numeric", "median": 1.0, "mean": 1.0, "std": 2.0, "categories": []}
    assert TableEncoder.from_dict({"columns": [good]}).width == 1
    with pytest.raises(ValueError, match="kind must be numeric or categorical"):
        TableEncoder.from_dict({"columns": [good | {"kind": "magic"}]})
    with pytest.raises(ValueError, match="a standard deviation must be positive"):
        TableEncoder.from_dict({"columns": [good | {"std": 0.0}]})
    with pytest.raises(ValueError, match="categories must be a list of names"):
        TableEncoder.from_dict({"columns": [good | {"kind": "categorical", "categories": [1, 2]}]})
    with pytest.raises(TypeError):  # a field no column has
        TableEncoder.from_dict({"columns": [good | {"evil": 1}]})
