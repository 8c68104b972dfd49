"""Keras's callback protocol: no-op hooks, a fan-out list, and `logs` dicts with `val_` prefixes.

Hooks left at their default are marked, so a loop skips per-batch work (and the `.item()` syncs it
needs) when no callback overrides a batch hook. As in Keras, a callback's state starts afresh with
every `fit` (`reset`), so one EarlyStopping can serve several fits; a resumed fit keeps the state its
checkpoint restored. Callbacks find each other by type (`CallbackList.find`), and their saved state is
keyed by name, never by position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from torch import nn

    from neuralab.train.device import Device
    from neuralab.train.state import TrainState

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound="Callback")
Logs = dict[str, Any]


class Loop(Protocol):
    """What callbacks may use of the loop driving them (the Trainer, the GAN's loop)."""

    model: nn.Module
    device: Device
    state: TrainState
    stop_training: bool

    @property
    def eval_model(self) -> nn.Module: ...

    def checkpoint_payload(self) -> dict[str, Any]: ...


def default(method: F) -> F:
    method._is_default = True  # type: ignore[attr-defined]
    return method


def is_default(method: Callable[..., Any]) -> bool:
    return getattr(method, "_is_default", False)


class Callback:
    trainer: Loop | None = None

    def set_trainer(self, trainer: Loop) -> None:
        self.trainer = trainer

    @property
    def name(self) -> str:
        """The key of this callback's saved state (unique within one list: a second gets '#2')."""
        return type(self).__name__

    def reset(self) -> None:
        """Forget what an earlier fit taught this callback (Keras resets in on_train_begin)."""

    def needs_batch_hooks(self) -> bool:
        """Whether this fit must call this callback's batch hooks (by default: whether it overrides one)."""
        return not is_default(self.on_train_batch_end) or not is_default(self.on_train_batch_begin)

    @default
    def on_train_begin(self, logs: Logs | None = None) -> None: ...

    @default
    def on_train_end(self, logs: Logs | None = None) -> None: ...

    @default
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...

    @default
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...

    @default
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...

    @default
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...

    @default
    def on_interrupt(self) -> None:
        """Training is stopping early at a clean step boundary (Ctrl-C, NaN): save what must survive."""

    def state_dict(self) -> dict[str, Any]:
        """What this callback must remember across an exact resume."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None


class CallbackList:
    def __init__(self, callbacks: Iterable[Callback] = ()) -> None:
        self.callbacks = list(callbacks)
        self.batch_callbacks: list[Callback] = []

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_trainer(self, trainer: Loop) -> None:
        for cb in self.callbacks:
            cb.set_trainer(trainer)

    def find(self, kind: type[C]) -> C | None:
        """The first callback of type `kind`, if any."""
        return next((cb for cb in self.callbacks if isinstance(cb, kind)), None)

    def begin(self, resumed: bool) -> None:
        """Start a fit: fresh state unless a checkpoint was just restored, then on_train_begin."""
        if not resumed:
            for cb in self.callbacks:
                cb.reset()
        self.call("on_train_begin", {"resumed": resumed})
        self.batch_callbacks = [cb for cb in self.callbacks if cb.needs_batch_hooks()]

    def _keys(self) -> list[str]:
        keys: list[str] = []
        for cb in self.callbacks:
            n = sum(1 for k in keys if k == cb.name or k.startswith(f"{cb.name}#"))
            keys.append(cb.name if n == 0 else f"{cb.name}#{n + 1}")
        return keys

    def wants_batch_hooks(self) -> bool:
        """Whether any callback needs batch hooks in this fit (decided in `begin`)."""
        return bool(self.batch_callbacks)

    def call_batch(self, hook: str, *args: Any) -> None:
        for cb in self.batch_callbacks:
            getattr(cb, hook)(*args)

    def call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def state_dict(self) -> dict[str, Any]:
        return {key: cb.state_dict() for key, cb in zip(self._keys(), self.callbacks, strict=True)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, cb in zip(self._keys(), self.callbacks, strict=True):
            if key in state:
                cb.load_state_dict(state[key])

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.callbacks)
