"""What this CPU can do natively, detected at run time (never assumed: CI may run on another CPU)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may use (respects taskset/cgroup affinity, unlike os.cpu_count)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


def cpu_has_amx() -> bool:
    """AMX tiles (Intel Sapphire Rapids and later) run bf16 convolutions and matmuls several times faster than fp32."""
    import torch

    checker = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(checker and checker())


def cpu_bf16_units() -> str | None:
    """The CPU's native bf16 arithmetic ("amx" or "avx512_bf16", e.g. AMD Zen 4), or None where bf16 is emulated."""
    import torch

    if cpu_has_amx():
        return "amx"
    checker = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    return "avx512_bf16" if checker and checker() else None


# torch's CPU thread pool crashes (a segmentation fault) when asked for about 100,000 threads; no
# machine neuralab runs on has more than this many cores.
MAX_THREADS = 1024
