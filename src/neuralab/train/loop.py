"""What every training loop shares: its position (TrainState), its callbacks, clean stops and the
flag that tells callbacks whether this fit continues a restored checkpoint."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import nn

from neuralab.train.callbacks.base import Callback, CallbackList
from neuralab.train.callbacks.history import History
from neuralab.train.denormals import flush_denormals
from neuralab.train.device import Device
from neuralab.train.host_memory import keep_freed_memory
from neuralab.train.seed import rng_state, set_rng_state
from neuralab.train.state import TrainState


class LoopBase:
    """Base of `Trainer` and `GanTrainer`: call `_init_loop` once the model and device are set.

    The exact-resume checkpoint is the loop's common part (model, device, RNG, position, callbacks)
    plus what a loop adds (`_extra_payload`: its optimizers, running sums...).
    """

    model: nn.Module
    device: Device

    def _init_loop(self, callbacks: Iterable[Callback]) -> None:
        self.state = TrainState()
        self.stop_training = False
        self._interrupt_requested = False
        self._restored = False
        user = list(callbacks)
        self.history = next((cb for cb in user if isinstance(cb, History)), History())
        self.callbacks = CallbackList([self.history] + [cb for cb in user if cb is not self.history])
        self.callbacks.set_trainer(self)  # type: ignore[arg-type]

    def _begin_fit(self) -> bool:
        """Start the callbacks (fresh, or as restored) and say whether any needs batch hooks."""
        if self.device.device.type == "cpu":
            keep_freed_memory()  # each step's tensors then reuse the last step's pages (host_memory.py)
            flush_denormals()  # Adam's decayed moments stop costing microcode assists (denormals.py)
        self.stop_training = False
        self.callbacks.begin(resumed=self._restored)
        self._restored = False
        return self.callbacks.wants_batch_hooks()

    @property
    def eval_model(self) -> nn.Module:
        """The weights evaluation and the best-weights file see (a Trainer with EMA: the average)."""
        return self.model

    def request_stop(self) -> None:
        """Stop after the current step and write a checkpoint (e.g. from a signal handler)."""
        self._interrupt_requested = True

    def _extra_payload(self) -> dict[str, Any]:
        return {}

    def _restore_extra(self, payload: dict[str, Any]) -> None:
        return None

    def checkpoint_payload(self) -> dict[str, Any]:
        extra = self._extra_payload()  # first: it may update the state's running sums
        return {"model": self.model.state_dict(), "device": self.device.state_dict(), "rng": rng_state(),
                "state": self.state.to_dict(), "callbacks": self.callbacks.state_dict(), **extra}  # fmt: skip

    def restore(self, payload: dict[str, Any]) -> None:
        """Continue exactly where `payload` (a checkpoint_payload) left off; the next fit keeps callback state."""
        self.model.load_state_dict(payload["model"])
        self.device.load_state_dict(payload["device"])
        self.state = TrainState.from_dict(payload["state"])
        self._restore_extra(payload)
        self.callbacks.load_state_dict(payload["callbacks"])
        set_rng_state(payload["rng"])
        self._restored = True
