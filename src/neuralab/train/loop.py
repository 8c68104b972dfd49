"""What every training loop shares: its position (TrainState), its callbacks, clean stops and the
flag that tells callbacks whether this fit continues a restored checkpoint."""

from __future__ import annotations

from collections.abc import Iterable

from neuralab.train.callbacks.base import Callback, CallbackList
from neuralab.train.callbacks.history import History
from neuralab.train.state import TrainState


class LoopBase:
    """Base of `Trainer` and `GanTrainer`: call `_init_loop` once the model and device are set."""

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
        self.stop_training = False
        self.callbacks.begin(resumed=self._restored)
        self._restored = False
        return self.callbacks.wants_batch_hooks()

    def request_stop(self) -> None:
        """Stop after the current step and write a checkpoint (e.g. from a signal handler)."""
        self._interrupt_requested = True
