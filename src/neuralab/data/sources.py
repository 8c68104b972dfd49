"""Where dataset files come from: an explicit folder, $NEURALAB_DATA, Debian's package, or a checked download.

Downloads land in a cache folder through a temporary file that is renamed only after its
sha256 matched, so an interrupted or tampered download never looks like a dataset.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from neuralab.errors import UserError

DEBIAN_ROOT = Path("/usr/share/datasets")


@dataclass(frozen=True)
class RemoteFile:
    """A file of a dataset: its name, where to fetch it, and the sha256 it must have."""

    name: str
    url: str
    sha256: str


def cache_root() -> Path:
    return Path(os.environ.get("NEURALAB_CACHE", Path.home() / ".cache" / "neuralab"))


def candidate_dirs(dataset: str, data_dir: Path | None) -> list[Path]:
    """Folders searched in order; each root is tried as-is and with the dataset's name below it."""
    roots: list[Path] = []
    if data_dir is not None:
        roots.append(Path(data_dir).expanduser())
    if env := os.environ.get("NEURALAB_DATA"):
        roots.append(Path(env).expanduser())
    dirs: list[Path] = []
    for root in roots:
        dirs += [root, root / dataset]
    dirs += [DEBIAN_ROOT / dataset, cache_root() / dataset]
    return dirs


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(remote: RemoteFile, dest_dir: Path, timeout_s: float = 60.0) -> Path:
    """Fetch `remote` into `dest_dir`, verifying its sha256 before it takes its final name."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / remote.name
    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{remote.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(remote.url, timeout=timeout_s) as response:
            shutil.copyfileobj(response, out)
        got = sha256_of(tmp)
        if got != remote.sha256:
            raise UserError(
                f"download of {remote.url} has sha256 {got}, expected {remote.sha256}",
                hint="the file is corrupt or was changed upstream; it was not kept",
            )
        os.replace(tmp, final)
        return final
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        raise UserError(
            f"could not download {remote.url}: {err}",
            hint="put the files in a folder and pass --data-dir (or set $NEURALAB_DATA)",
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


def locate(dataset: str, files: list[RemoteFile], data_dir: Path | None, allow_download: bool) -> dict[str, Path]:
    """Find every file of `dataset` in one folder, downloading into the cache when allowed."""
    searched = candidate_dirs(dataset, data_dir)
    for folder in searched:
        if all((folder / f.name).is_file() for f in files):
            return {f.name: folder / f.name for f in files}
    if not allow_download:
        names = ", ".join(f.name for f in files)
        where = "\n    ".join(str(d) for d in searched)
        raise UserError(
            f"dataset {dataset!r} not found: need {names} in one of\n    {where}",
            hint="pass --data-dir, set $NEURALAB_DATA, or allow downloads (data.download=true)",
        )
    dest = cache_root() / dataset
    return {f.name: (dest / f.name if (dest / f.name).is_file() else download(f, dest)) for f in files}
