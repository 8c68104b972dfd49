"""`neuralab train --nproc N`: start the same command under torchrun, one process per rank.

torchrun (torch.distributed.run) is PyTorch's own launcher: `--standalone` runs its rendezvous on
this machine, it sets RANK/WORLD_SIZE/... for each worker and, when one worker fails, stops the
others and exits non-zero (max restarts 0), so a dead rank never leaves the job hanging.
"""

from __future__ import annotations

import os
import subprocess
import sys

from neuralab.cli.app import err_console


def under_torchrun() -> bool:
    """True inside a worker torchrun started (it sets LOCAL_RANK for every worker)."""
    return "LOCAL_RANK" in os.environ


def without_option(argv: list[str], option: str) -> list[str]:
    """`argv` less `option VALUE` / `option=VALUE`: the workers must not launch torchrun again."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + "="):
            kept.append(arg)
    return kept


def torchrun_command(nproc: int, argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            "--max-restarts=0", "-m", "neuralab", *without_option(argv, "--nproc")]  # fmt: skip


def launch(nproc: int, argv: list[str]) -> int:
    """Run `neuralab ARGV` in `nproc` processes on this machine; returns the job's exit status."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.setdefault("OMP_NUM_THREADS", "1")  # neuralab sets each rank's torch threads itself
    code = subprocess.run(torchrun_command(nproc, argv), env=env, check=False).returncode
    if code != 0:
        err_console.print(
            f"[bold red]error:[/] the {nproc}-process job failed (exit status {code}); the failing process's "
            "message is above. A run folder with a checkpoint continues with "
            f"`neuralab train --resume RUN_DIR --nproc {nproc}`.",
            highlight=False,
        )
    return code
