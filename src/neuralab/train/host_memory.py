"""Keep freed host memory inside a training process, so each step stops paying page faults.

PyTorch's CPU tensors come from glibc's malloc. Blocks above the mmap threshold are mapped and unmapped
per allocation, and a free at the top of the heap past the trim threshold hands pages back to the kernel,
so the next step's tensors of the same sizes fault every page in again. On a 2-core Xeon VM the Fashion-MNIST
recipe's step (before `pool_first`) took 0 to 9,000 minor faults (about 1.5 microseconds each), up to 20% of the
step, varying between runs with the heap's history (benchmarks/host_memory.py); a smaller step may not fault at
all, and then this changes nothing. PyTorch's CUDA allocator caches freed blocks for the
same reason; on the CPU its tuning guide preloads jemalloc or tcmalloc, which a library cannot do for its user.
Setting glibc's own limits once does the same job: blocks up to 32 MiB (glibc's largest mmap threshold) are
reused from the heap, and the heap is not trimmed while the process lives, so its resident size stays at its
peak instead of shrinking between steps.

Opt out with NEURALAB_MALLOC=system; a user's own MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or
GLIBC_TUNABLES win.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc refuses more (HEAP_MAX_SIZE / 2 on 64-bit)
TRIM_THRESHOLD = 2**31 - 1  # mallopt takes an int: trim only past 2 GiB of free heap top
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; True where they are now in force.

    Idempotent and irreversible (a process-wide setting, so it is not a per-run option). Does nothing on
    other C libraries, other systems, when the user tuned malloc themselves, or with NEURALAB_MALLOC=system.
    """
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if not sys.platform.startswith("linux") or os.environ.get("NEURALAB_MALLOC", "").lower() == "system":
        return False
    if any(name in os.environ for name in _USER_SETTINGS):
        return False
    libc = _glibc()
    if libc is None:
        return False
    _applied = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _applied


def _glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc (musl has no mallopt thresholds)."""
    try:
        libc = ctypes.CDLL(None)  # the symbols already loaded into this process: its C library
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.gnu_get_libc_version()
    except (OSError, AttributeError):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc
