"""A regression model served over a real socket: rows with named columns in, values out; hostile rows refused."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from neuralab.pipeline import resolve_config, train
from tests.serve.conftest import Server, start_server, stop_server

HOUSES = Path(__file__).parents[2] / "examples" / "house_prices.csv"


@pytest.fixture(scope="module")
def houses_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    out = tmp_path_factory.mktemp("houses")
    cfg = resolve_config({"data": {"name": "table", "file": str(HOUSES), "target_column": "price"},
                          "train": {"epochs": 15}, "out_dir": str(out), "name": "houses"})  # fmt: skip
    run_dir = train(cfg, Console(file=io.StringIO())).run_dir
    server = start_server(run_dir, out / "server.log", "--max-wait-ms", "2")
    yield server
    stop_server(server)


def test_rows_get_values_in_the_targets_units_and_unseen_categories_are_said(houses_server: Server) -> None:
    client = houses_server.client
    rows = [{"area_m2": 80, "location": "suburb", "rooms": 3}, {"area_m2": "80", "location": "city-centre", "rooms": 3},
            {"area_m2": 60, "location": "moon"}]  # fmt: skip
    answer = client.post("/predict", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    prices = [p["price"] for p in body["predictions"]]
    assert len(prices) == 3 and prices[1] > 1.3 * prices[0] > 1e5  # the city centre costs more per m²
    assert body["unseen_categories"] == {"location": ["moon"]} and body["imputed"] == {"rooms": 1}
    one = client.post("/predict", json={"row": rows[0]}).json()
    assert one["predictions"][0]["price"] == pytest.approx(prices[0], rel=1e-6)
    in_order = client.post("/predict", json={"data": [[80, "suburb", 3]]}).json()  # the tutorial's {"data": [...]}
    assert in_order["predictions"][0]["price"] == pytest.approx(prices[0], rel=1e-6)
    meta = client.get("/metadata").json()
    assert meta["task"] == "regress" and meta["targets"] == ["price"]
    assert [c["name"] for c in meta["input"]["columns"]] == ["area_m2", "location", "rooms"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"rows": [{"aera_m2": 80}]}, 422, "unknown column(s) ['aera_m2']"),
        ({"rows": [{"area_m2": "large"}]}, 422, "'large' is not a number"),
        ({"rows": [{"area_m2": [1, 2]}]}, 422, "holds a list"),
        ({"rows": [[80, "suburb"]]}, 422, "takes 3 columns"),
        ({"rows": []}, 422, "non-empty list"),
        ({"rows": [{}], "top_k": 3}, 422, "exactly one of"),
        ({"rows": [{"area_m2": 1e300}]}, 422, "too large"),
        ({"rows": [{"area_m2": 10**400}]}, 422, "(401 characters) is not a number"),  # JSON integers are unbounded
        ({"rows": [{"location": "x" * 30_000}]}, 413, "characters"),
        ({"rows": [{"area_m2": 1}] * 300}, 413, "at most 256 rows"),
        ([1, 2], 422, "JSON object"),
        ({"array": [1, 2, 3, 4, 5, 6]}, 422, "exactly one of 'rows'"),
    ],
)
def test_hostile_rows_are_refused_by_name(houses_server: Server, body: object, status: int, message: str) -> None:
    answer = houses_server.client.post("/predict", json=body)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["error"]["message"]


def test_non_json_and_non_finite_bodies_are_refused(houses_server: Server) -> None:
    client = houses_server.client
    json_type = {"content-type": "application/json"}
    nan = client.post("/predict", content=b'{"rows": [{"area_m2": NaN, "location": "suburb", "rooms": 2}]}',
                      headers=json_type)  # fmt: skip
    assert nan.status_code == 200 and nan.json()["imputed"] == {"area_m2": 1}  # NaN is a missing value, and said
    infinite = client.post("/predict", content=b'{"rows": [{"area_m2": Infinity}]}', headers=json_type)
    assert infinite.status_code == 422 and "not a number" in infinite.json()["error"]["message"]
    broken = client.post("/predict", content=b'{"rows": [', headers=json_type)
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]["message"]
    upload = client.post("/predict", files={"file": ("x.png", b"\x89PNG", "image/png")})
    assert upload.status_code == 415
    batch = client.post("/predict/batch", json={"instances": [{"array": [1]}]})
    assert batch.status_code == 415 and "at /predict" in batch.json()["error"]["message"]
    for bomb in (b"[" * 200_000, b'{"rows": ' + b"[" * 200_000):
        nested = client.post("/predict", content=bomb, headers=json_type)
        assert nested.status_code == 400 and "nested too deeply" in nested.json()["error"]["message"]
    assert client.get("/health").status_code == 200  # still serving after all of it
    assert json.loads(client.post("/predict", json={"row": {"area_m2": 70}}).text)["imputed"] == {
        "location": 1,
        "rooms": 1,
    }


@pytest.fixture(scope="module")
def sunspots_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    out = tmp_path_factory.mktemp("sun")
    cfg = resolve_config({"data": {"name": "sunspots"}, "train": {"epochs": 5}, "out_dir": str(out), "name": "s"})
    server = start_server(train(cfg, Console(file=io.StringIO())).run_dir, out / "server.log", "--max-wait-ms", "2")
    yield server
    stop_server(server)


def test_a_forecaster_answers_the_next_steps_of_a_history(sunspots_server: Server) -> None:
    client = sunspots_server.client
    history = [5, 11, 16, 23, 36, 58, 29, 20, 10, 8, 3, 0, 0, 2, 11, 27, 47, 63, 60, 39, 28, 26, 22, 11]
    answer = client.post("/predict", json={"history": history})
    assert answer.status_code == 200, answer.text
    forecast = answer.json()["forecast"]
    assert list(forecast) == ["sunspots+1"] and -50 < forecast["sunspots+1"] < 300
    longer = client.post("/predict", json={"history": [[v] for v in [0, 0, *history]]}).json()["forecast"]
    assert longer == pytest.approx(forecast)  # only the last `window` steps matter
    assert client.get("/metadata").json()["input"]["window"] == 22
    for body, message in [
        ({"history": history[:5]}, "needs the last 22"),
        ({"history": [*history[:-1], "x"]}, "must hold numbers"),
        ({"history": [[1, 2]] * 30}, "one value per series"),
        ({"history": []}, "non-empty list"),
        ({"rows": [{"a": 1}]}, "{'history': [...]}"),
        ({"history": [*history[:-1], 1e308]}, "too large"),
        ({"history": [*history[:-1], 10**400]}, "too large"),  # beyond float64: JSON integers are unbounded
    ]:
        refused = client.post("/predict", json=body)
        assert refused.status_code == 422 and message in refused.json()["error"]["message"], refused.text
    infinite = client.post(
        "/predict", content=b'{"history": [1, Infinity]}', headers={"content-type": "application/json"}
    )
    assert infinite.status_code == 422
    assert client.get("/health").status_code == 200
