"""Fabric-lite: one object decides device, precision and memory format, so the Trainer never branches on them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from neuralab.errors import UserError
from neuralab.hardware import cpu_bf16_units
from neuralab.model_contract import has_conv
from neuralab.train import distributed


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("train.device=cuda but no CUDA GPU is available", hint="use train.device=auto or cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("train.device=mps but MPS is not available", hint="use train.device=auto or cpu")
    return torch.device(name)


def auto_precision(device: torch.device, model: nn.Module | None = None) -> str:
    """bf16 where the hardware runs it natively and it pays; fp16 + scaler on older GPUs; else fp32.

    On the CPU, bf16 autocast is picked for convolutional models only, on AMX and on AVX512-BF16 alike
    (benchmarks/auto_precision.py times each model's training step both ways, side by side). Measured
    on 2 cores: conv models train about 2x faster in bf16 on an AMX Xeon (SimpleCNN at batch 64, the
    Fashion-MNIST recipe at 256) and 1.4-1.8x on an AMD Zen 4 without AMX. Dense and recurrent models
    mostly do not gain: on the AMX Xeon digits' MLP at batch 32 ran 1.8x *slower* (autocast's casts
    cost more than the small matmuls save), the text models within +-7% (a bf16 LSTM also stalled on
    one seed in 12 where fp32 did not). Large dense layers can gain (the tutorial's 784-512-256 MLP at
    batch 256: 1.4x): `train.precision=bf16-mixed` asks for it.
    """
    if device.type == "cuda":
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    if device.type == "cpu" and cpu_bf16_units() is not None and model is not None and has_conv(model):
        return "bf16-mixed"
    return "32"


@dataclass
class Device:
    """Where and how the math runs: autocast dtype, the fp16 grad scaler, channels_last.

    `rank`/`world_size` come from the torch.distributed process group (0/1 without one); rank-0-only
    writes are keyed on `is_main`.
    """

    device: torch.device
    precision: str = "32"
    channels_last: bool = False
    rank: int = 0
    world_size: int = 1
    scaler: torch.amp.GradScaler = field(init=False)

    def __post_init__(self) -> None:
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "16-mixed")

    @classmethod
    def create(
        cls, name: str = "auto", precision: str = "auto", channels_last: str = "auto", model: nn.Module | None = None
    ) -> Device:
        device = pick_device(name)
        if precision == "auto":
            precision = auto_precision(device, model)
        if precision == "16-mixed" and device.type == "cpu":
            raise UserError("train.precision=16-mixed is for GPUs; on the CPU use 32 or bf16-mixed")
        # Measured on a 2-core CPU: channels_last roughly doubles conv throughput (see benchmarks/).
        use_cl = channels_last == "on" or (channels_last == "auto" and model is not None and has_conv(model))
        ranks = distributed.current_ranks()
        if ranks.is_distributed and device.type == "cuda":
            device = torch.device("cuda", ranks.local_rank)  # one GPU per rank on each machine
        return cls(device=device, precision=precision, channels_last=use_cl, rank=ranks.rank,
                   world_size=ranks.world_size)  # fmt: skip

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        return {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}.get(self.precision)

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        dtype = self.autocast_dtype
        if dtype is None:
            yield
            return
        with torch.autocast(self.device.type, dtype=dtype):
            yield

    def setup(self, model: nn.Module) -> nn.Module:
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        return model

    def wrap(self, model: nn.Module) -> nn.Module:
        """What the training step calls: DistributedDataParallel(model) under torchrun, `model` otherwise."""
        return distributed.wrap(model, self.device)

    def backward(self, loss: torch.Tensor) -> None:
        self.scaler.scale(loss).backward()

    def unscale(self, optimizer: torch.optim.Optimizer) -> None:
        """Bring gradients back to their true scale before clipping (a no-op without fp16)."""
        self.scaler.unscale_(optimizer)

    def step(self, optimizer: torch.optim.Optimizer, update: bool = True) -> None:
        """With fp16 the scaler skips the step when it finds inf/NaN gradients, then adjusts its scale
        (`update=False` when another optimizer steps later in the same iteration, as a GAN's does)."""
        self.scaler.step(optimizer)
        if update:
            self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        return {"scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])

    def __repr__(self) -> str:
        return f"Device({self.device}, precision={self.precision}, channels_last={self.channels_last})"
