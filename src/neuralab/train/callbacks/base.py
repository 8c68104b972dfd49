"""Keras's callback protocol: no-op hooks, a fan-out list, and `logs` dicts with `val_` prefixes.

Hooks left at their default are marked, so the Trainer skips per-batch work (and the `.item()`
syncs it needs) when no callback overrides a batch hook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from neuralab.train.trainer import Trainer

F = TypeVar("F", bound=Callable[..., Any])
Logs = dict[str, Any]


def default(method: F) -> F:
    method._is_default = True  # type: ignore[attr-defined]
    return method


def is_default(method: Callable[..., Any]) -> bool:
    return getattr(method, "_is_default", False)


class Callback:
    trainer: Trainer | None = None

    def set_trainer(self, trainer: Trainer) -> None:
        self.trainer = trainer

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

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)

    def set_trainer(self, trainer: Trainer) -> None:
        for cb in self.callbacks:
            cb.set_trainer(trainer)

    def wants_batch_hooks(self) -> bool:
        return any(
            not is_default(cb.on_train_batch_end) or not is_default(cb.on_train_batch_begin) for cb in self.callbacks
        )

    def call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def state_dict(self) -> dict[str, Any]:
        return {f"{i}:{type(cb).__name__}": cb.state_dict() for i, cb in enumerate(self.callbacks)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for i, cb in enumerate(self.callbacks):
            key = f"{i}:{type(cb).__name__}"
            if key in state:
                cb.load_state_dict(state[key])

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.callbacks)
