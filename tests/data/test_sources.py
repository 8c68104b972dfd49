from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from neuralab.data.sources import RemoteFile, candidate_dirs, download, locate
from neuralab.errors import UserError


def remote_for(path: Path, digest: str | None = None) -> RemoteFile:
    return RemoteFile(path.name, path.as_uri(), digest or hashlib.sha256(path.read_bytes()).hexdigest())


def test_search_order_explicit_then_env_then_debian_then_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEURALAB_DATA", str(tmp_path / "env"))
    dirs = candidate_dirs("fashion-mnist", tmp_path / "mine")
    assert dirs[:4] == [
        tmp_path / "mine",
        tmp_path / "mine" / "fashion-mnist",
        tmp_path / "env",
        tmp_path / "env" / "fashion-mnist",
    ]
    assert dirs[4] == Path("/usr/share/datasets/fashion-mnist")
    assert dirs[5] == tmp_path / "cache" / "fashion-mnist"


def test_locate_prefers_the_explicit_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder in ("mine", "env"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "a.bin").write_bytes(b"x")
    monkeypatch.setenv("NEURALAB_DATA", str(tmp_path / "env"))
    files = [RemoteFile("a.bin", "file:///nowhere", "0" * 64)]
    assert locate("demo", files, tmp_path / "mine", False)["a.bin"] == tmp_path / "mine" / "a.bin"
    assert locate("demo", files, None, False)["a.bin"] == tmp_path / "env" / "a.bin"


def test_download_verifies_sha256_from_a_file_url(tmp_path: Path) -> None:
    source = tmp_path / "served" / "data.bin"
    source.parent.mkdir()
    source.write_bytes(b"real bytes" * 1000)
    got = locate("demo", [remote_for(source)], None, allow_download=True)["data.bin"]
    assert got == tmp_path / "cache" / "demo" / "data.bin" and got.read_bytes() == source.read_bytes()


def test_download_with_a_wrong_checksum_keeps_nothing(tmp_path: Path) -> None:
    source = tmp_path / "data.bin"
    source.write_bytes(b"tampered")
    with pytest.raises(UserError, match="sha256"):
        download(remote_for(source, "0" * 64), tmp_path / "dest")
    assert list((tmp_path / "dest").iterdir()) == []


def test_unreachable_url_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="could not download"):
        download(RemoteFile("x", (tmp_path / "missing").as_uri(), "0" * 64), tmp_path / "dest")


def test_missing_without_download_lists_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        locate("nothing-here", [RemoteFile("a.bin", "file:///x", "0" * 64)], tmp_path, allow_download=False)
    assert "a.bin" in str(err.value) and str(tmp_path) in str(err.value)
