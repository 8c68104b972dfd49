"""`POST /predict` takes a fast path past FastAPI's router: it must answer exactly as the route does.

A query string sends the same request through the documented FastAPI route (`?top_k=5` is the
default, so both answers must be equal but for the request id), which makes the two paths
comparable over a real socket, good inputs and bad alike. A model that fails mid-request must get
the same JSON 500 on both.
"""

from __future__ import annotations

import base64
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from neuralab import KerasModel
from neuralab.serve.fast_path import takes_fast_path
from tests.serve.conftest import Server, png_bytes, start_server, stop_server


def _scope(method: str = "POST", path: str = "/predict", query: bytes = b"", kind: str = "http") -> dict[str, Any]:
    return {"type": kind, "method": method, "path": path, "query_string": query}


def test_only_a_plain_post_to_predict_takes_the_fast_path() -> None:
    assert takes_fast_path(_scope())
    assert not takes_fast_path(_scope(query=b"top_k=3"))
    assert not takes_fast_path(_scope(method="GET"))
    assert not takes_fast_path(_scope(path="/predict/batch"))
    assert not takes_fast_path(_scope(path="/predict/"))
    assert not takes_fast_path({"type": "lifespan"})


def _answer(server: Server, query: str, request: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    response = server.client.post("/predict" + query, **request)
    body = response.json()
    assert body.pop("request_id") == response.headers["x-request-id"]
    return response.status_code, response.headers["content-type"], body


def test_the_fast_path_answers_exactly_as_the_route(server: Server, digit_images) -> None:
    image, _ = digit_images[3]
    good = png_bytes(image)
    requests: dict[str, dict[str, Any]] = {
        "upload": {"files": {"file": ("x.png", good, "image/png")}},
        "base64": {"json": {"image_base64": base64.b64encode(good).decode()}},
        "array": {"json": {"array": image.tolist()}},
        "tutorial data": {"json": {"data": [image.tolist(), digit_images[4][0].tolist()]}},
        "text file": {"files": {"file": ("n.txt", b"not an image", "text/plain")}},
        "truncated png": {"files": {"file": ("x.png", good[:40], "image/png")}},
        "no file": {"files": {"other": ("x.png", good, "image/png")}},
        "bad json": {"content": b"{nope", "headers": {"content-type": "application/json"}},
        "empty json": {"content": b"", "headers": {"content-type": "application/json"}},
        "wrong type": {"content": b"x", "headers": {"content-type": "text/plain"}},
        "ragged array": {"json": {"array": [[1, 2], [3]]}},
        "text to an image model": {"json": {"text": "hello"}},
    }
    for name, request in requests.items():
        fast = _answer(server, "", request)
        routed = _answer(server, "?top_k=5", request)
        assert fast == routed, name
    assert _answer(server, "", requests["upload"])[0] == 200
    assert _answer(server, "", requests["no file"])[2]["error"]["code"] == "no_file"


def test_a_large_body_is_refused_on_the_fast_path_too(digits_run: Path, tmp_path: Path) -> None:
    server = start_server(digits_run, tmp_path / "server.log", "--max-body-mb", "0.01")
    try:
        chunks = (b"x" * 4096 for _ in range(8))  # streamed: no content-length to refuse it up front
        response = server.client.post("/predict", content=chunks, headers={"content-type": "application/json"})
        assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
        assert server.client.get("/health").status_code == 200
    finally:
        stop_server(server)


FRAGILE_MODULE = """
import torch
from torch import nn


class Fragile(nn.Module):
    \"\"\"A digits classifier that fails on an all-white image, as a model with a bug would.\"\"\"

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training and bool((x.flatten(1).min(dim=1).values > 0.99).any()):
            raise RuntimeError("fragile model: an all-white image")
        return self.net(x)


def build() -> nn.Module:
    return Fragile()
"""


@pytest.fixture(scope="module")
def fragile_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    root = tmp_path_factory.mktemp("fragilepkg")
    (root / "fragile_nets.py").write_text(textwrap.dedent(FRAGILE_MODULE))
    monkey = pytest.MonkeyPatch()
    monkey.syspath_prepend(str(root))
    import fragile_nets  # type: ignore[import-not-found]

    x, y = load_digits(return_X_y=True)
    torch.manual_seed(0)
    model = KerasModel(fragile_nets.build()).compile(optimizer="adam", lr=3e-3)
    model.fit((x / 16).astype("float32").reshape(-1, 1, 8, 8)[:600], y[:600], epochs=1, batch_size=64)
    run = model.save(tmp_path_factory.mktemp("fragile") / "run", builder=fragile_nets.build)
    yield run, {"PYTHONPATH": str(root)}
    monkey.undo()


def test_a_failing_model_gets_the_same_json_500_on_both_paths(
    fragile_run: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    run, env = fragile_run
    server = start_server(run, tmp_path / "server.log", "--trust-code", env=env)
    try:
        white = {"files": {"file": ("w.png", png_bytes(np.full((8, 8), 255, np.uint8)), "image/png")}}
        for query in ("", "?top_k=5"):
            status, ctype, body = _answer(server, query, white)
            assert (status, ctype, body["error"]["code"]) == (500, "application/json", "internal"), body
            assert "Traceback" not in json.dumps(body)
        digit = {"files": {"file": ("d.png", png_bytes(np.eye(8, dtype=np.uint8) * 200), "image/png")}}
        assert _answer(server, "", digit)[0] == 200  # the server lives on
        assert sum("internal error" in line for line in server.log_lines()) == 2
    finally:
        stop_server(server)
