"""The training loop, top to bottom: fetch, forward, backward, clip, step, log, checkpoint.

It knows nothing of files, configs or datasets: those are callbacks and loaders. Exact resume
works because everything the next step depends on is in `checkpoint_payload()` and the loaders
derive each batch from (seed, epoch, batch).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from neuralab.errors import NeuralabError, UserError
from neuralab.train import distributed
from neuralab.train.averaging import ema_model
from neuralab.train.callbacks.base import Callback
from neuralab.train.callbacks.history import History
from neuralab.train.device import Device
from neuralab.train.loop import LoopBase
from neuralab.train.losses import LossFn, l1_penalty
from neuralab.train.metrics import balanced_accuracy, macro_f1
from neuralab.train.schedules import LRController, constant


class Loader(Protocol):
    def __iter__(self) -> Any: ...

    def __len__(self) -> int: ...

    def set_position(self, epoch: int, start_batch: int = 0) -> None: ...


def compile_step(module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """torch.compile (inductor) of the training forward, with a clear error when it cannot compile."""
    from torch._dynamo.exc import BackendCompilerFailed
    from torch._inductor.exc import InductorError

    compiled = torch.compile(module, dynamic=False)

    def step(x: torch.Tensor) -> torch.Tensor:
        try:
            return compiled(x)  # type: ignore[no-any-return]
        except (BackendCompilerFailed, InductorError) as err:
            raise UserError(
                f"train.compile=on could not compile this model: {str(err).splitlines()[0][:300]}",
                hint="train without it (train.compile=off); on the CPU inductor needs a C++ compiler (gcc)",
            ) from err

    return step


def has_forward_hooks(model: nn.Module) -> bool:
    return any(module._forward_hooks for module in model.modules())


class TrainingInterrupted(NeuralabError):
    """Raised after a clean stop at a step boundary; the checkpoint is already written."""


class TrainingDiverged(NeuralabError):
    """The loss became NaN or infinite; nothing after the last finite step was saved."""

    def __init__(self, message: str, epoch: int, batch: int) -> None:
        super().__init__(message)
        self.epoch, self.batch = epoch, batch


@dataclass
class Evaluation:
    loss: float
    accuracy: float
    y_true: np.ndarray
    y_pred: np.ndarray
    probabilities: np.ndarray | None = None


class Trainer(LoopBase):
    """The training loop for your own models, loaders and callbacks; what every CLI run uses.

    Examples:
        >>> from torch import nn
        >>> from neuralab.data import BatchLoader, LoadOptions
        >>> from neuralab.data.digits import load_digits_data
        >>> from neuralab.train import Trainer, build_optimizer
        >>> from neuralab.train.losses import cross_entropy
        >>> data = load_digits_data(LoadOptions())
        >>> train = BatchLoader(data.train, 64, data.preprocess, shuffle=True, seed=0, drop_last=True)
        >>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        >>> trainer = Trainer(model, build_optimizer(model, "adam", lr=1e-2), cross_entropy())
        >>> [round(row["epoch"]) for row in trainer.fit(train, epochs=3).rows]
        [1, 2, 3]
        >>> trainer.evaluate(BatchLoader(data.test, 256, data.preprocess)).accuracy > 0.85
        True
        >>> trainer.predict(BatchLoader(data.test, 256, data.preprocess)).shape
        torch.Size([360, 10])
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: LossFn,
        *,
        device: Device | None = None,
        lr: LRController | None = None,
        callbacks: Iterable[Callback] = (),
        grad_clip: float | None = None,
        grad_clip_mode: str = "norm",
        l1: float = 0.0,
        penalty: Callable[[nn.Module], torch.Tensor] | None = None,
        classification: bool = True,
        val_metrics: Callable[[np.ndarray, np.ndarray], dict[str, float]] | None = None,
        seed: int = 0,
        compile: bool = False,
        ema: float = 0.0,
    ) -> None:
        self.device = device or Device.create("cpu")
        self.model = self.device.setup(model)
        self._stepper = self.device.wrap(self.model)  # DDP under torchrun: it all-reduces the gradients
        # torch.compile's graph for the training forward (and, through AOTAutograd, its backward).
        # Evaluation stays eager: it runs once an epoch, and a second graph would double compile time.
        self._compiled = compile_step(self._stepper) if compile else None
        # `ema` > 0: evaluation uses an EMA of the weights, and the model takes them when training ends.
        self.ema = ema_model(self.model, ema) if ema else None
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.lr = lr or LRController(optimizer, constant())
        self.grad_clip = grad_clip
        self.grad_clip_mode = grad_clip_mode
        self.l1 = l1
        self.penalty = penalty  # an extra term on the weights, e.g. FedProx's pull towards the global model
        self.classification = classification
        self.seed = seed  # under torchrun, each step's dropout draws derive from it
        self.val_metrics = val_metrics  # regression: (targets, outputs) -> metrics in the target's units
        self._init_loop(callbacks)
        acc_dtype = torch.float32 if self.device.device.type == "mps" else torch.float64
        self._running = torch.zeros(3, dtype=acc_dtype, device=self.device.device)  # loss sum, correct, seen

    # -- one optimisation step ------------------------------------------------------------------
    def _train_step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        stepper: Callable[[torch.Tensor], torch.Tensor] = self._stepper
        # A step sampled by the gradient monitor carries forward hooks: it runs eager rather than
        # making the compiled graph's guards fail (a recompile each time, then a silent fallback).
        if self._compiled is not None and not has_forward_hooks(self.model):
            stepper = self._compiled
        with self.device.autocast():
            output = stepper(x)
            loss = self.loss_fn(output, y)
            if self.l1:
                loss = loss + self.l1 * l1_penalty(self.model)
            if self.penalty is not None:
                loss = loss + self.penalty(self.model)
        self.optimizer.zero_grad(set_to_none=True)
        self.device.backward(loss)
        if self.grad_clip:
            self.device.unscale(self.optimizer)
            if self.grad_clip_mode == "value":
                nn.utils.clip_grad_value_(self.model.parameters(), self.grad_clip)
            else:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.device.step(self.optimizer)
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        # Running sums stay on the device: no .item() sync per step.
        with torch.no_grad():
            n = len(y)
            self._running[0] += loss.detach().to(self._running.dtype) * n
            if self.classification:
                self._running[1] += (output.detach().argmax(1) == y).sum().to(self._running.dtype)
            self._running[2] += n
        return loss.detach()

    # -- the loop -----------------------------------------------------------------------------------
    def fit(self, train_loader: Loader, val_loader: Loader | None = None, epochs: int = 1) -> History:
        """Train until `epochs` (counted from where a restored checkpoint left off), firing the callbacks.

        Returns the History; stops early when a callback sets `stop_training`, raises TrainingInterrupted
        after `request_stop` (checkpoint written) and TrainingDiverged on a non-finite loss.
        """
        batch_hooks = self._begin_fit()
        for epoch in range(self.state.epoch, epochs):
            self.model.train()
            train_loader.set_position(epoch, self.state.batch)
            self.callbacks.call("on_epoch_begin", epoch, {})
            started = time.perf_counter()
            for batch, (x, y) in enumerate(train_loader, start=self.state.batch):
                lr = self.lr.apply(self.state.global_step)
                if self.device.world_size > 1:  # dropout's draws follow the position, so a resume repeats them
                    torch.manual_seed(distributed.step_seed(self.seed, epoch, batch, self.device.rank))
                if batch_hooks:
                    self.callbacks.call_batch("on_train_batch_begin", batch, {})
                loss = self._train_step(x, y)
                # A CPU sync costs microseconds; on GPUs the check runs every 25 steps.
                if (self.device.device.type == "cpu" or self.state.global_step % 25 == 0) and not torch.isfinite(loss):
                    raise TrainingDiverged(
                        f"the loss became {float(loss)} at epoch {epoch + 1}, batch {batch + 1}", epoch, batch
                    )
                self.state.batch = batch + 1
                self.state.global_step += 1
                self.state.samples_seen += len(y) * self.device.world_size  # every rank takes an equal slice
                if batch_hooks:
                    self.callbacks.call_batch("on_train_batch_end", batch, {"loss": loss, "lr": lr})
                if self.device.world_size > 1:  # a signal may reach the ranks a step apart: stop together
                    self._interrupt_requested = distributed.any_rank(self._interrupt_requested, self.device.device)
                if self._interrupt_requested:
                    self.state.train_seconds += time.perf_counter() - started
                    self.callbacks.call("on_interrupt")
                    raise TrainingInterrupted(
                        f"stopped at epoch {epoch + 1}, batch {batch + 1}; the checkpoint is saved"
                    )
                if self.stop_training:
                    break
            self.state.train_seconds += time.perf_counter() - started
            logs = self._epoch_logs(val_loader, lr=float(self.optimizer.param_groups[0]["lr"]))
            if not np.isfinite(logs["loss"]):
                raise TrainingDiverged(f"the mean loss of epoch {epoch + 1} is {logs['loss']}", epoch, self.state.batch)
            logs["epoch_s"] = time.perf_counter() - started
            self.state.epoch, self.state.batch = epoch + 1, 0
            self._running.zero_()
            self.callbacks.call("on_epoch_end", epoch, logs)
            if self.stop_training:
                break
        self.state.finished = True
        self._take_average()
        self.callbacks.call("on_train_end", {})
        return self.history

    def _epoch_logs(self, val_loader: Loader | None, lr: float) -> dict[str, float]:
        loss_sum, correct, seen = (float(v) for v in distributed.all_reduce_sum(self._running.clone()).tolist())
        logs = {"loss": loss_sum / max(seen, 1)}
        if self.classification:
            logs["accuracy"] = correct / max(seen, 1)
        if val_loader is not None:
            result = self.evaluate(val_loader)
            logs["val_loss"] = result.loss
            if self.classification:
                logs["val_accuracy"] = result.accuracy
                logs["val_balanced_accuracy"] = balanced_accuracy(result.y_true, result.y_pred)
                logs["val_macro_f1"] = macro_f1(result.y_true, result.y_pred)
            elif self.val_metrics is not None:
                logs.update({f"val_{k}": v for k, v in self.val_metrics(result.y_true, result.y_pred).items()})
        logs["lr"] = lr
        return logs

    # -- weight averaging -------------------------------------------------------------------------
    @property
    def eval_model(self) -> nn.Module:
        """The weights evaluation sees: the EMA's while training with `ema`, else the model itself."""
        return self.ema.module if self.ema is not None else self.model

    def _take_average(self) -> None:
        """Training is over: the model takes the averaged weights, so saving or exporting it keeps them
        (as Keras's `use_ema` does at the end of `fit`)."""
        if self.ema is not None:
            self.model.load_state_dict(self.ema.module.state_dict())

    # -- evaluation ---------------------------------------------------------------------------------
    @torch.inference_mode()
    def _outputs(self, loader: Loader, full_precision: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        model = self.eval_model
        was_training = model.training
        model.eval()
        loader.set_position(0, 0)
        outputs, targets = [], []
        try:
            for x, y in loader:
                with contextlib.nullcontext() if full_precision else self.device.autocast():
                    outputs.append(model(x).float())
                targets.append(y)
        finally:
            model.train(was_training)
        if not outputs:  # an empty shard (more ranks than rows)
            return self._empty_outputs(loader)
        output, target = torch.cat(outputs), torch.cat(targets)
        # Under torchrun each rank read a contiguous shard: in rank order they are the whole split, once.
        return distributed.gather_in_rank_order(output), distributed.gather_in_rank_order(target)

    def _empty_outputs(self, loader: Loader) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank holds no rows: take part in the gathers with nothing, and receive everyone's."""
        empty = torch.empty(0, device=self.device.device)
        return distributed.gather_in_rank_order(empty), distributed.gather_in_rank_order(empty.long())

    def evaluate(self, loader: Loader, with_probabilities: bool = False, full_precision: bool = False) -> Evaluation:
        """Loss, accuracy, labels and predictions over `loader` (eval mode, no gradients).

        `full_precision` skips autocast: a run's final test figures are then the saved model's as
        `evaluate`, `predict` and `serve` compute them (fp32), not bf16's, which differ on a few images.
        """
        output, target = self._outputs(loader, full_precision)
        loss = float(self.loss_fn(output, target))
        if not self.classification:
            return Evaluation(loss, float("nan"), target.cpu().numpy(), output.cpu().numpy())
        pred = output.argmax(1)
        probs = torch.softmax(output, 1).cpu().numpy() if with_probabilities else None
        accuracy = float((pred == target).float().mean()) if len(target) else 0.0
        return Evaluation(loss, accuracy, target.cpu().numpy(), pred.cpu().numpy(), probs)

    def predict(self, loader: Loader) -> torch.Tensor:
        """The model's raw outputs (logits) over `loader`, on the CPU."""
        return self._outputs(loader)[0].cpu()

    # -- exact resume ---------------------------------------------------------------------------------
    def _extra_payload(self) -> dict[str, Any]:
        """Under torchrun every rank calls this (the running sums are summed over ranks); rank 0 writes it."""
        sums = distributed.all_reduce_sum(self._running.clone())
        self.state.loss_sum, self.state.correct, self.state.seen = (float(v) for v in sums.tolist())
        payload = {"optimizer": self.optimizer.state_dict(), "lr": self.lr.state_dict(),
                   "world_size": self.device.world_size}  # fmt: skip
        if self.ema is not None:
            payload["ema"] = self.ema.state_dict()
        return payload

    def _restore_extra(self, payload: dict[str, Any]) -> None:
        saved = int(payload.get("world_size", 1))
        if saved != self.device.world_size:
            raise UserError(
                f"this run was trained by {saved} process(es) and is being resumed by {self.device.world_size}: "
                "each rank's batches depend on the process count, so the resume would not be exact",
                hint=f"resume it with --nproc {saved}" if saved > 1 else "resume it without --nproc / torchrun",
            )
        self.optimizer.load_state_dict(payload["optimizer"])
        self.lr.load_state_dict(payload["lr"])
        if self.ema is not None:
            if "ema" not in payload:
                raise UserError(
                    "this checkpoint was written without train.ema, and this run asks for it: "
                    "the average of the weights so far is not in it",
                    hint="resume with the run's own configuration (train.ema as it was)",
                )
            self.ema.load_state_dict(payload["ema"])
            if self.state.finished:
                self._take_average()
        self._running = torch.tensor(
            [self.state.loss_sum, self.state.correct, self.state.seen],
            dtype=self._running.dtype,
            device=self._running.device,
        )
        if not self.device.is_main:  # the saved sums are the whole job's: rank 0 carries them on
            self._running.zero_()
