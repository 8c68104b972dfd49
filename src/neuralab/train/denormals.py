"""Flush denormal floats to zero on every CPU thread that trains, as TensorFlow does by default.

Adam's moment estimates of weights whose gradients are (nearly) always zero, such as the first dense
layer's weights fed by Fashion-MNIST's blank borders, shrink geometrically into the denormal range
(below 1.2e-38). x86 cores compute on denormals through a microcode assist about a hundred times slower,
so in a real run of the tutorial's SimpleCNN the optimizer step went from 0.39 ms to 1.2 ms after
about 800 steps and the whole step got 15% slower (benchmarks/denormals.py). Flushing them (FTZ:
results, DAZ: inputs) changes only numbers smaller than any weight update can show.

The x86 control register (MXCSR) is per thread and a new thread copies its creator's, so setting it on
the calling thread misses the OpenMP workers PyTorch has already started. Those are reached by running
one parallel region through the OpenMP runtime PyTorch loaded, whose threads each set their own.

Opt out with NEURALAB_DENORMALS=keep. Once set, a thread keeps it, as keep_freed_memory's setting stays.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path

import torch

_thread = threading.local()  # whether this thread (and its OpenMP team) flushes: decided once per thread


def flush_denormals() -> bool:
    """Turn on FTZ and DAZ on this thread and its OpenMP threads, once per thread; True where they are on.

    Per thread because each Python thread that computes (Optuna's parallel trials, a server's
    workers) leads its own OpenMP team. False on CPUs without the flags (set_flush_denormal says so:
    non-x86), with NEURALAB_DENORMALS=keep, or when PyTorch's OpenMP runtime cannot be found (then
    only this thread and the threads it starts later flush).
    """
    applied: bool | None = getattr(_thread, "applied", None)
    if applied is None:
        applied = _thread.applied = _turn_on()
    return applied


def _turn_on() -> bool:
    if os.environ.get("NEURALAB_DENORMALS", "").lower() == "keep":
        return False
    if not torch.set_flush_denormal(True):
        return False
    return _set_on_openmp_threads()


def _flush_this_thread(_: int | None) -> None:
    torch.set_flush_denormal(True)


_REGION = ctypes.CFUNCTYPE(None, ctypes.c_void_p)  # an OpenMP region's body: void fn(void *data)
_ON_EACH_THREAD = _REGION(_flush_this_thread)  # module-level: a ctypes callback must outlive every call


def _set_on_openmp_threads() -> bool:
    """Run `torch.set_flush_denormal(True)` once on every thread of the OpenMP team."""
    if "OpenMP" not in torch.__config__.parallel_info():
        return False
    runtime = _loaded_openmp()  # GNU libgomp, or LLVM and Intel runtimes (they export it too)
    if runtime is None:
        return False
    runtime.GOMP_parallel.argtypes = [_REGION, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    runtime.GOMP_parallel.restype = None
    runtime.GOMP_parallel(_ON_EACH_THREAD, None, torch.get_num_threads(), 0)  # ctypes drops the GIL meanwhile
    return True


def _loaded_openmp() -> ctypes.CDLL | None:
    """PyTorch's OpenMP runtime, looked up through libtorch_cpu's own dependencies.

    Other wheels bring their own copies (scikit-learn ships a libgomp), each with its own threads, so the
    entry point is resolved from libtorch_cpu's handle: dlsym searches that library's dependency tree.
    """
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = {line.rsplit(maxsplit=1)[-1] for line in maps.splitlines() if "/" in line}
    for path in sorted(paths):
        if Path(path).name.startswith("libtorch_cpu"):
            try:
                library = ctypes.CDLL(path)  # already loaded: dlopen returns the same instance
            except OSError:
                return None
            return library if hasattr(library, "GOMP_parallel") else None
    return None
