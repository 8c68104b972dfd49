"""The server over a real socket: every endpoint, every bad input, concurrency, logs and metrics."""

from __future__ import annotations

import base64
import io
import json
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from neuralab.serve.predictor import Predictor
from tests.serve.conftest import Server, png_bytes


def post_file(server: Server, data: bytes, name: str = "x.png", ctype: str = "image/png") -> httpx.Response:
    return server.client.post("/predict", files={"file": (name, data, ctype)})


def assert_json_error(response: httpx.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"]["message"]
    assert "Traceback" not in response.text
    if code:
        assert body["error"]["code"] == code
    return body


def test_predict_upload_matches_the_model(server: Server, digits_run: Path, digit_images) -> None:
    predictor = Predictor(digits_run)
    correct = 0
    for image, label in digit_images[:20]:
        response = post_file(server, png_bytes(image))
        assert response.status_code == 200, response.text
        body = response.json()
        expected = predictor.predict_proba([predictor.preprocess.image_to_uint8(Image.fromarray(image))])[0]
        assert body["index"] == int(np.argmax(expected))
        assert body["probability"] == pytest.approx(float(expected.max()), abs=1e-5)
        assert len(body["top"]) == 5 and body["top"][0]["class"] == body["class"]
        assert response.headers["x-request-id"] == body["request_id"]
        correct += body["index"] == label
    assert correct >= 18  # a trained model, seen through the server


def test_json_inputs_base64_array_and_batch(server: Server, digit_images) -> None:
    image, _ = digit_images[0]
    by_upload = post_file(server, png_bytes(image)).json()
    b64 = base64.b64encode(png_bytes(image)).decode()
    by_b64 = server.client.post("/predict", json={"image_base64": b64, "top_k": 2}).json()
    by_array = server.client.post("/predict", json={"array": image.tolist()}).json()
    assert by_upload["class"] == by_b64["class"] == by_array["class"]
    assert len(by_b64["top"]) == 2
    data_url = server.client.post("/predict?top_k=1", json={"image_base64": "data:image/png;base64," + b64})
    assert data_url.status_code == 200 and len(data_url.json()["top"]) == 1

    batch = server.client.post(
        "/predict/batch", json={"instances": [{"array": img.tolist()} for img, _ in digit_images[:10]]}
    )
    assert batch.status_code == 200
    singles = [
        server.client.post("/predict", json={"array": img.tolist()}).json()["class"] for img, _ in digit_images[:10]
    ]
    assert [p["class"] for p in batch.json()["predictions"]] == singles

    files = [("files", (f"{i}.png", png_bytes(img), "image/png")) for i, (img, _) in enumerate(digit_images[:4])]
    multi = server.client.post("/predict/batch", files=files)
    assert [p["class"] for p in multi.json()["predictions"]] == singles[:4]


def test_health_metadata_openapi_and_demo_page(server: Server) -> None:
    assert server.client.get("/health").json()["status"] == "ok"
    meta = server.client.get("/metadata").json()
    assert meta["classes"] == [str(i) for i in range(10)]
    assert meta["input"] == meta["input"] | {"kind": "image", "shape": [1, 8, 8]}
    assert meta["preprocess"]["mean"] and meta["limits"]["max_pixels"] == 25_000_000
    schema = server.client.get("/openapi.json").json()
    content = schema["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert set(content) == {"multipart/form-data", "application/json"}
    assert "/predict/batch" in schema["paths"] and "/metrics" in schema["paths"]
    page = server.client.get("/")
    assert page.status_code == 200 and "<script>" in page.text and "/predict" in page.text


# The five inputs that gave the tutorial's Flask server a 500, and more.
def test_bad_inputs_get_a_clear_4xx_and_the_server_lives(server: Server, digit_images) -> None:
    image, _ = digit_images[0]
    good_png = png_bytes(image)
    assert_json_error(post_file(server, b"just some text\n", "notes.txt", "text/plain"), 415, "not_an_image")
    assert_json_error(post_file(server, b""), 400, "empty_file")
    assert_json_error(post_file(server, good_png[: len(good_png) // 2]), 422, "corrupt_image")
    assert_json_error(server.client.post("/predict", files={"other": ("x.png", good_png)}), 400, "no_file")
    as_text = server.client.post("/predict", data={"file": "not a file"}, files={"other": ("x.png", good_png)})
    assert_json_error(as_text, 422, "no_file")
    assert_json_error(server.client.post("/predict", data={"file": "url-encoded"}), 415, "unsupported_media_type")
    rgb = np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)  # colour, not square
    assert post_file(server, png_bytes(rgb)).status_code == 200
    rgba = np.random.default_rng(1).integers(0, 256, (300, 20, 4), dtype=np.uint8)
    assert post_file(server, png_bytes(rgba, "RGBA")).status_code == 200
    assert_json_error(server.client.post("/predict", content=b"x", headers={"content-type": "text/plain"}), 415)
    assert_json_error(
        server.client.post("/predict", content=b"{not json", headers={"content-type": "application/json"}), 422
    )
    assert_json_error(server.client.post("/predict", content=b"", headers={"content-type": "application/json"}), 400)
    assert_json_error(server.client.post("/predict", json={"array": [[1, 2], [3]]}), 422)
    assert_json_error(server.client.post("/predict", json={"array": np.zeros((9, 8)).tolist()}), 422)
    for bad_number in ("NaN", "Infinity", "1e999"):
        raw = json.dumps({"array": [[0] * 8] * 8}).replace("0", bad_number, 1)
        response = server.client.post("/predict", content=raw, headers={"content-type": "application/json"})
        assert_json_error(response, 422)
    assert_json_error(server.client.post("/predict", json={"array": (np.ones((8, 8)) * 300).tolist()}), 422)
    huge = np.zeros((8, 8), dtype=object)
    huge[0, 0] = 10**400  # JSON integers are unbounded; float64 is not
    assert_json_error(server.client.post("/predict", json={"array": huge.tolist()}), 422)
    multipart = {"content-type": "multipart/form-data; boundary=xyz"}
    for broken in (b"no boundary in sight", b"--xyz\r\n\r\n\r\n--xyz--\r\n"):  # unparseable; no field name
        assert_json_error(server.client.post("/predict", content=broken, headers=multipart), 400, "bad_multipart")
    assert_json_error(server.client.post("/predict", json={"image_base64": "***"}), 422, "bad_base64")
    assert_json_error(server.client.post("/predict", json={"image_base64": "aGk=", "array": [1]}), 422)
    assert_json_error(server.client.post("/predict", json={"text": "hello"}), 415)
    assert_json_error(server.client.post("/predict", json={"array": image.tolist(), "top_k": 0}), 422)
    assert_json_error(server.client.post("/predict?top_k=abc", json={"array": image.tolist()}), 422)
    assert_json_error(server.client.post("/predict/batch", json={"instances": []}), 422)
    assert_json_error(server.client.get("/predict"), 405)
    assert_json_error(server.client.get("/no/such/path"), 404)
    for bomb in (b"[" * 200_000, b'{"data": ' + b"[" * 200_000):  # nesting that overflows a recursive parser
        response = server.client.post("/predict", content=bomb, headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500, response.text
    assert server.process.poll() is None
    assert server.client.get("/health").status_code == 200


def test_decompression_bomb_is_refused_before_decoding(server: Server, tmp_path: Path) -> None:
    bomb = io.BytesIO()
    Image.new("L", (10000, 10000)).save(bomb, format="PNG")  # about 100 KB on disk, 100 megapixels decoded
    assert len(bomb.getvalue()) < 200_000
    body = assert_json_error(post_file(server, bomb.getvalue()), 413, "image_too_large")
    assert "10000x10000" in body["error"]["message"]


def test_body_size_limit(server: Server) -> None:
    big = b"\0" * (9 * 1024 * 1024)
    assert_json_error(post_file(server, big), 413, "body_too_large")

    def chunks():  # no content-length: the limit is enforced while reading
        for _ in range(10):
            yield b"0" * (1024 * 1024)

    response = server.client.post("/predict", content=chunks(), headers={"content-type": "application/json"})
    assert_json_error(response, 413, "body_too_large")
    assert server.client.get("/health").status_code == 200


def test_concurrent_explanations_each_see_their_own_image(server: Server, digit_images) -> None:
    """The model is shared: other requests' forward passes must not reach one explanation's hooks."""
    images = [digit_images[i][0].tolist() for i in range(3)]
    alone = [server.client.post("/explain", json={"array": image}).content for image in images]
    assert len(set(alone)) == 3  # three different overlays to tell apart

    def one(i: int) -> tuple[int, int, bytes]:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            if i % 4 == 3:  # predictions run the same model meanwhile
                return i, client.post("/predict", json={"array": images[i % 3]}).status_code, b""
            response = client.post("/explain", json={"array": images[i % 3]})
            return i, response.status_code, response.content

    with ThreadPoolExecutor(24) as pool:
        answers = list(pool.map(one, range(96)))
    assert all(status == 200 for _, status, _ in answers), [status for _, status, _ in answers]
    assert all(content == alone[i % 3] for i, _, content in answers if content)


def test_concurrent_requests_are_batched_and_all_answered(server: Server, digit_images) -> None:
    bodies = [png_bytes(img) for img, _ in digit_images[:48]]
    expected = [post_file(server, b).json()["class"] for b in bodies]

    def one(data: bytes) -> str:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            response = client.post("/predict", files={"file": ("x.png", data, "image/png")})
            assert response.status_code == 200
            return response.json()["class"]

    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(one, bodies))
    assert got == expected
    metrics = server.client.get("/metrics").text
    sizes = {float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("neuralab_batch_size_sum")}
    counts = {float(line.split()[-1]) for line in metrics.splitlines() if line.startswith("neuralab_batch_size_count")}
    assert sizes and counts and max(sizes) > max(counts)  # some forward pass carried more than one input


def test_metrics_and_one_json_log_line_per_request(server: Server) -> None:
    rid = "test-request-42"
    response = server.client.get("/health", headers={"x-request-id": rid})
    assert response.headers["x-request-id"] == rid
    server.client.post("/predict", content=b"x", headers={"content-type": "text/plain", "x-request-id": "bad id!"})
    metrics = server.client.get("/metrics").text
    assert 'neuralab_requests_total{method="GET",path="/health",status="200"}' in metrics
    assert 'status="415"' in metrics and "neuralab_request_seconds_bucket" in metrics
    records = [json.loads(line) for line in server.log_lines() if line.startswith("{") and '"request_id"' in line]
    mine = [r for r in records if r["request_id"] == rid]
    assert len(mine) == 1 and mine[0]["path"] == "/health" and mine[0]["status"] == 200 and mine[0]["ms"] >= 0
    unsafe = [r for r in records if r["status"] == 415]
    assert unsafe and all(r["request_id"] != "bad id!" for r in unsafe)


def test_bad_run_folder_fails_at_start_with_a_message(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    result = run_cli("serve", str(tmp_path / "missing"))
    assert result.returncode == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.json").write_text("{}")
    (tmp_path / "broken" / "model.safetensors").write_bytes(zlib.compress(b"junk"))
    result = run_cli("serve", str(tmp_path / "broken"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_explain_endpoint_returns_an_overlay(server: Server, digit_images) -> None:
    image, _ = digit_images[0]
    response = server.client.post(
        "/explain?method=gradcam%2B%2B", files={"file": ("d.png", png_bytes(image), "image/png")}
    )
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size[0] > 100
    by_json = server.client.post("/explain?target=3", json={"array": image.tolist()})
    assert by_json.status_code == 200
    assert_json_error(server.client.post("/explain?method=magic", json={"array": image.tolist()}), 422)
    assert_json_error(server.client.post("/explain?target=cat", json={"array": image.tolist()}), 422)
    assert server.client.get("/metadata").json()["explain"] is True


def test_two_workers_serve_the_same_answers(digits_run: Path, tmp_path: Path, digit_images) -> None:
    from tests.serve.conftest import start_server, stop_server

    two = start_server(digits_run, tmp_path / "two.log", "--workers", "2")
    try:
        predictor = Predictor(digits_run)
        for image, _ in digit_images[:6]:
            body = post_file(two, png_bytes(image)).json()
            expected = predictor.predict_proba([predictor.preprocess.image_to_uint8(Image.fromarray(image))])[0]
            assert body["index"] == int(np.argmax(expected))
        # One scrape counts every worker's requests (prometheus_client's multiprocess mode): fresh
        # connections spread over the workers, yet any worker's /metrics reports all of them.
        for _ in range(30):
            assert httpx.get(f"{two.url}/metadata", timeout=10).status_code == 200
        for _ in range(3):
            metrics = httpx.get(f"{two.url}/metrics", timeout=10).text
            assert 'neuralab_requests_total{method="POST",path="/predict",status="200"} 6.0' in metrics
            assert 'neuralab_requests_total{method="GET",path="/metadata",status="200"} 30.0' in metrics
    finally:
        stop_server(two)


@pytest.mark.skipif(not Path("/usr/share/games/fortunes/chinese").exists(), reason="apt-get install fortunes-zh")
def test_a_text_model_is_served_from_json(tmp_path: Path) -> None:
    from rich.console import Console

    from neuralab.pipeline import predict_texts, resolve_config, run_config
    from tests.serve.conftest import start_server, stop_server

    cfg = resolve_config(
        {"data": {"name": "fortunes-zh"}, "train": {"epochs": 3}, "out_dir": str(tmp_path), "name": "t"}
    )
    run = run_config(cfg, Console(file=io.StringIO())).run_dir
    server = start_server(run, tmp_path / "text.log")
    try:
        text = "学而时习之，不亦说乎"
        body = server.client.post("/predict", json={"text": text, "top_k": 2}).json()
        assert body["class"] == predict_texts(run, [text])[0]["top"][0]["class"] and len(body["top"]) == 2
        batch = server.client.post("/predict/batch", json={"instances": [{"text": text}, {"text": "天下无道"}]})
        assert batch.status_code == 200 and len(batch.json()["predictions"]) == 2
        meta = server.client.get("/metadata").json()
        assert meta["input"]["kind"] == "text" and "word_index" not in meta["preprocess"]["extra"]["tokenizer"]
        assert_json_error(server.client.post("/predict", json={"text": "   "}), 422, "empty_text")
        assert_json_error(server.client.post("/predict", json={"text": "字" * 30000}), 413, "text_too_long")
        assert_json_error(post_file(server, b"\x89PNG"), 415)
        assert_json_error(server.client.post("/predict", json={"array": [1, 2]}), 415)
    finally:
        stop_server(server)


def test_the_tutorials_flask_client_works_unchanged(server: Server, digit_images) -> None:
    """The second tutorial's server read `request.json['data']` and answered `{'predictions': ...}`."""
    rows = [img.tolist() for img, _ in digit_images[:5]]
    response = server.client.post("/predict", json={"data": rows})
    assert response.status_code == 200
    predictions = response.json()["predictions"]
    singles = [server.client.post("/predict", json={"array": row}).json()["class"] for row in rows]
    assert [p["class"] for p in predictions] == singles
    assert server.client.post("/predict", json={"data": []}).status_code == 422
    assert server.client.post("/predict", json={"data": [[1, 2]]}).status_code == 422  # wrong shape, named
