"""From a validated config to a finished run folder: data, model, trainer, fit, test, save.

Also the read side every command shares: evaluate a run on a split, predict files with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from rich.console import Console
from rich.markup import escape

from neuralab.config import RunConfig, deep_merge, validate
from neuralab.data import DATASETS, BatchAugment, BatchLoader, LoadedData, LoadOptions, Samples, TensorSamples
from neuralab.data.embeddings import align_vectors
from neuralab.data.folder import FolderSamples
from neuralab.data.splits import stratified_split, stratified_subset
from neuralab.data.text import TextSamples, Tokenizer, choose_maxlen, encode
from neuralab.data.transforms import Preprocess
from neuralab.diagnose import (
    Finding,
    GradientMonitor,
    LRFindResult,
    analyze,
    analyze_history,
    balanced_class_weights,
    lr_range_test,
    resolve_balance,
)
from neuralab.errors import UserError
from neuralab.models import create_model, summarize
from neuralab.models.backbones import BACKBONES, Backbone, load_matching, named_groups
from neuralab.report import write_report
from neuralab.runs import (
    RunPaths,
    atomic_write_json,
    atomic_write_text,
    check_run_dir,
    default_run_name,
    load_model,
    load_tensors,
    load_weights,
    model_card,
    new_run_dir,
    read_config,
    read_json,
    save_model,
    save_tensors,
    torch_versions,
)
from neuralab.train import (
    Device,
    LRController,
    Plateau,
    Trainer,
    TrainingDiverged,
    build_optimizer,
    load_checkpoint,
    make_schedule,
)
from neuralab.train.callbacks import (
    BestWeights,
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    ProgressLogger,
    ResumeCheckpoint,
)
from neuralab.train.finetune import FineTuning, set_frozen
from neuralab.train.losses import LossFn, cross_entropy, focal
from neuralab.train.metrics import classification_metrics
from neuralab.train.seed import seed_everything


def resolve_config(user: dict[str, Any]) -> RunConfig:
    """Validate the user's settings on top of the dataset's recipe.

    A section whose `name` the user chose (model, optim, sched) drops the recipe's section, so a
    recipe's `model.args` never reach a different model.
    """
    dataset = (user.get("data") or {}).get("name", "digits")
    recipe = dict(DATASETS.get(dataset).recipe) if dataset in DATASETS else {}
    for section, values in user.items():
        if isinstance(values, dict) and "name" in values and section != "data":
            recipe.pop(section, None)
    return validate(deep_merge(recipe, user))


@dataclass
class PreparedData:
    data: LoadedData
    train: Samples
    val: Samples | None
    test: Samples


def prepare_data(cfg: RunConfig, stored: Preprocess | None = None) -> PreparedData:
    """Load, subset and split; text is tokenised here, with a tokenizer fitted on the train split only.

    `stored`: a run's saved text preprocessing, reused (evaluate) instead of refitting.
    """
    info = DATASETS.get(cfg.data.name)
    data = info.load(
        LoadOptions(
            data_dir=cfg.data.data_dir,
            download=cfg.data.download,
            file=cfg.data.file,
            image_size=cfg.data.image_size,
            target_column=cfg.data.target_column,
            test_file=cfg.data.test_file,
            text_column=cfg.data.text_column,
        )
    )
    if cfg.data.classes is not None:
        select_classes(data, cfg.data.classes)
    train = data.train
    if cfg.data.subset is not None:
        train = train.subset(stratified_subset(train.targets, cfg.data.subset, cfg.train.seed))
    val: Samples | None = None
    if cfg.data.val_fraction > 0:
        keep, held = stratified_split(train.targets, cfg.data.val_fraction, cfg.train.seed)
        train, val = train.subset(keep), train.subset(held)
    test = data.test
    if isinstance(train, TextSamples):
        data.preprocess = stored or fit_text_preprocess(cfg, train.texts)
        tokenizer = Tokenizer.from_dict(data.preprocess.extra["tokenizer"])
        maxlen = data.preprocess.input_shape[0]

        def ids(samples: Samples) -> TensorSamples:
            assert isinstance(samples, TextSamples)
            return TensorSamples(encode(tokenizer, samples.texts, maxlen), samples.targets)

        train, val, test = ids(train), ids(val) if val is not None else None, ids(test)
    return PreparedData(data, train, val, test)


def select_classes(data: LoadedData, wanted: list[str]) -> None:
    """Keep only `wanted` classes (renumbered in that order) in both splits: a new task from a dataset."""
    unknown = [c for c in wanted if c not in data.classes]
    if unknown or len(set(wanted)) < 2:
        raise UserError(f"data.classes must name at least two of the dataset's classes; unknown: {unknown}",
                        hint=f"classes: {data.classes}")  # fmt: skip
    remap = torch.full((len(data.classes),), -1, dtype=torch.long)
    for new, name in enumerate(wanted):
        remap[data.classes.index(name)] = new

    def keep(samples: Samples) -> Samples:
        mapped = remap[samples.targets]
        chosen = samples.subset(torch.nonzero(mapped >= 0).flatten())
        return dataclasses.replace(chosen, targets=remap[chosen.targets])  # type: ignore[type-var]

    data.train, data.test, data.classes = keep(data.train), keep(data.test), list(wanted)


def fit_text_preprocess(cfg: RunConfig, texts: list[str]) -> Preprocess:
    d = cfg.data
    tokenizer = Tokenizer(d.text_level, d.num_words, d.min_freq, d.lowercase, d.keep_punctuation,
                          ngrams=d.ngrams).fit(texts)  # fmt: skip
    maxlen = d.maxlen or choose_maxlen(tokenizer.texts_to_sequences(texts))
    return Preprocess(
        kind="text", input_shape=(maxlen,), mean=(), std=(), scale=1.0,
        extra={"tokenizer": tokenizer.to_dict(), "level": tokenizer.level, "vocab_size": tokenizer.vocab_size},
    )  # fmt: skip


def load_pretrained(cfg: RunConfig, model: torch.nn.Module, console: Console) -> dict[str, Any] | None:
    """model.pretrained: torchvision's ImageNet weights, a weights file, or one of our run folders.

    Tensors are copied where name and shape match; a run's `head` is never copied (its classes differ).
    """
    source = cfg.model.pretrained
    if source is None:
        return None
    normalization: dict[str, Any] = {}
    if source == "imagenet":
        if not isinstance(model, Backbone):
            raise UserError(f"pretrained: imagenet needs a torchvision backbone, not {cfg.model.name}",
                            hint=f"backbones: {', '.join(BACKBONES)}")  # fmt: skip
        model.load_imagenet()
        copied, skipped = len(model.features.state_dict()), 0
    else:
        path = Path(source).expanduser()
        if path.is_dir():
            paths = check_run_dir(path)
            state = load_tensors(paths.weights)
            state = {k: v for k, v in state.items() if not k.startswith("head.")}
            target: torch.nn.Module = model
            normalization = read_json(paths.model_json).get("preprocess", {})
        elif path.is_file():
            state = read_weights_file(path)
            target = (
                model.features
                if isinstance(model, Backbone) and not any(k.startswith("features.") for k in state)
                else model
            )
        else:
            raise UserError(f"model.pretrained={source!r} is neither 'imagenet', a weights file nor a run folder")
        copied, skipped = load_matching(target, state)
        if copied == 0:
            raise UserError(f"no tensor of {source} fits {cfg.model.name} (names or shapes differ)",
                            hint="pretrain the same architecture, or check model.args")  # fmt: skip
    console.print(f"pretrained weights from {source}: {copied} tensors copied, {skipped} left as initialised",
                  highlight=False)  # fmt: skip
    info: dict[str, Any] = {"source": source, "copied": copied, "skipped": skipped}
    if source != "imagenet" and Path(source).expanduser().is_dir() and normalization.get("mean"):
        info["normalization"] = (tuple(normalization["mean"]), tuple(normalization["std"]))
    return info


def read_weights_file(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from safetensors, or from a .pth/.pt read with weights_only=True (no code runs)."""
    if path.suffix == ".safetensors":
        return load_tensors(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        raise UserError(f"{path}: not a readable weights file ({type(err).__name__}: {str(err)[:200]})") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path}: expected a state dict of tensors")
    return state


def data_model_args(cfg: RunConfig, preprocess: Preprocess) -> dict[str, Any]:
    """Model arguments the data decides: a text model's vocabulary size."""
    args = dict(cfg.model.args)
    if preprocess.kind == "text":
        args["vocab_size"] = preprocess.extra["vocab_size"]
    return args


def load_pretrained_embeddings(cfg: RunConfig, model: torch.nn.Module, preprocess: Preprocess,
                               console: Console) -> dict[str, Any] | None:  # fmt: skip
    if cfg.data.embeddings_file is None:
        return None
    embedding = getattr(model, "embedding", None)
    if preprocess.kind != "text" or not isinstance(embedding, torch.nn.Embedding):
        raise UserError("data.embeddings_file needs a text dataset and a text model (text_bag, text_rnn, ...)")
    vectors = align_vectors(
        cfg.data.embeddings_file, Tokenizer.from_dict(preprocess.extra["tokenizer"]), cfg.train.seed
    )
    if vectors.matrix.shape[1] != embedding.embedding_dim:
        raise UserError(
            f"{cfg.data.embeddings_file} has {vectors.matrix.shape[1]}-d vectors; the model's embedding is "
            f"{embedding.embedding_dim}-d",
            hint=f"--set model.args.dim={vectors.matrix.shape[1]}",
        )
    with torch.no_grad():
        embedding.weight.copy_(vectors.matrix)
    embedding.weight.requires_grad_(not cfg.data.freeze_embeddings)
    state = "frozen" if cfg.data.freeze_embeddings else "fine-tuned"
    found = f"{vectors.found:,} of {vectors.vocab:,} vocabulary words ({100 * vectors.coverage:.1f}%)"
    console.print(f"pretrained vectors: {found} found in {cfg.data.embeddings_file}; {state}", highlight=False)
    return {"file": str(cfg.data.embeddings_file), "found": vectors.found, "vocab": vectors.vocab,
            "coverage": vectors.coverage, "frozen": cfg.data.freeze_embeddings}  # fmt: skip


def data_fingerprint(samples: Samples) -> str:
    """sha256 of the training examples as used (after subset and split), recorded for reproducibility."""
    digest = hashlib.sha256()
    if isinstance(samples, TensorSamples):
        digest.update(samples.x.contiguous().numpy().tobytes())
    elif isinstance(samples, FolderSamples):
        for path in samples.files:
            digest.update(f"{path}:{path.stat().st_size}".encode())
    digest.update(samples.targets.numpy().tobytes())
    return digest.hexdigest()


def make_loader(
    samples: Samples,
    cfg: RunConfig,
    preprocess: Preprocess,
    device: Device,
    *,
    train: bool,
    sample_weights: torch.Tensor | None = None,
) -> BatchLoader:
    return BatchLoader(
        samples,
        cfg.train.batch_size if train else cfg.train.eval_batch_size,
        preprocess,
        shuffle=train,
        seed=cfg.train.seed,
        augment=BatchAugment.from_name(cfg.data.augment, cfg.data.crop_padding) if train else None,
        device=device.device,
        channels_last=device.channels_last,
        drop_last=train,
        num_workers=cfg.data.num_workers,
        sample_weights=sample_weights if train else None,
    )


def raw_inputs(samples: Samples, indices: list[int]) -> torch.Tensor:
    """The stored (uint8 or float) inputs of some examples, whichever way the samples are held."""
    if isinstance(samples, TensorSamples):
        return samples.x[torch.tensor(indices, dtype=torch.long)]
    return torch.stack([samples[i][0] for i in indices])  # type: ignore[index]


def save_errors(path: Path, samples: Samples, y_true: np.ndarray, y_pred: np.ndarray, probs: np.ndarray,
                keep: int = 200) -> None:  # fmt: skip
    """Keep the most confident mistakes on the test split, for the report's gallery and error analysis."""
    wrong = np.flatnonzero(y_true != y_pred)
    confidence = probs[np.arange(len(probs)), y_pred]
    chosen = wrong[np.argsort(-confidence[wrong], kind="stable")][:keep].tolist()
    save_tensors(path, {
        "inputs": raw_inputs(samples, chosen) if chosen else torch.zeros(0),
        "index": torch.tensor(chosen, dtype=torch.long),
        "y_true": torch.from_numpy(y_true[chosen].astype(np.int64)),
        "y_pred": torch.from_numpy(y_pred[chosen].astype(np.int64)),
        "confidence": torch.from_numpy(confidence[chosen].astype(np.float32)),
    })  # fmt: skip


def make_loss(balance: str, cfg: RunConfig, class_weights: torch.Tensor) -> LossFn:
    if balance == "focal":
        return focal(cfg.train.focal_gamma, class_weights, cfg.train.label_smoothing)
    weights = class_weights if balance == "class_weights" else None
    return cross_entropy(cfg.train.label_smoothing, weights)


def write_findings(run_dir: Path, findings: list[Finding]) -> None:
    atomic_write_json(RunPaths(run_dir).root / "findings.json", [f.to_dict() for f in findings])


@contextlib.contextmanager
def stop_on_signals(trainer: Trainer) -> Iterator[None]:
    """Ctrl-C / SIGTERM finish the current step, write a checkpoint and stop cleanly."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        trainer.request_stop()

    try:
        for sig in previous:
            signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass
class RunResult:
    run_dir: Path
    summary: dict[str, Any]


def run_config(
    cfg: RunConfig,
    console: Console | None = None,
    resume_dir: Path | None = None,
    extra_callbacks: Sequence[Callback] = (),
    evaluate_test: bool = True,
) -> RunResult:
    """Train `cfg` into a new run folder, or continue the run in `resume_dir` from its checkpoint.

    `extra_callbacks` run after the built-in ones and before the checkpoint is written. Tuning passes
    `evaluate_test=False`: trials are judged on validation only, and the test split stays unseen.
    """
    console = console or Console()
    reproducibility = seed_everything(cfg.train.seed, cfg.train.threads, cfg.train.deterministic)
    prepared = prepare_data(cfg)
    data = prepared.data
    input_shape = data.preprocess.input_shape
    model_args = data_model_args(cfg, data.preprocess)
    model = create_model(cfg.model.name, input_shape, len(data.classes), data.preprocess.kind, **model_args)
    embeddings = load_pretrained_embeddings(cfg, model, data.preprocess, console)
    adapt = getattr(model, "adapt", None)
    if (
        callable(adapt) and resume_dir is None and isinstance(prepared.train, TensorSamples)
    ):  # statistics of the training split (a text model's idf)
        adapt(prepared.train.x)
    pretrained = load_pretrained(cfg, model, console) if resume_dir is None else None
    normalization = getattr(model, "input_normalization", None)
    if pretrained and "normalization" in pretrained:  # the features were learned on inputs scaled this way
        normalization = pretrained.pop("normalization")
    if normalization is not None and len(normalization[0]) == len(data.preprocess.mean):
        data.preprocess = dataclasses.replace(data.preprocess, mean=normalization[0], std=normalization[1])
    groups = named_groups(model)
    finetune = FineTuning(groups, cfg.model.finetune, cfg.model.unfreeze_every)
    layer_groups = groups if cfg.model.finetune != "full" or cfg.model.lr_decay < 1 else None
    if cfg.model.finetune != "full":  # "full" leaves requires_grad alone (frozen pretrained vectors stay frozen)
        set_frozen(groups, finetune.stage_for(0))  # so the summary below counts what the first epoch trains
    device = Device.create(cfg.train.device, cfg.train.precision, cfg.train.channels_last, model)
    stats = summarize(model, input_shape)
    model = device.setup(model)

    if resume_dir is not None:
        run_dir = resume_dir
    else:
        run_dir = new_run_dir(cfg.out_dir, cfg.name or default_run_name(cfg))
        atomic_write_text(RunPaths(run_dir).config, cfg.to_yaml())
    paths = RunPaths(run_dir)

    balance, imbalance = resolve_balance(
        cfg.train.balance, prepared.train.targets, data.classes, cfg.train.imbalance_ratio
    )
    class_weights = balanced_class_weights(prepared.train.targets, len(data.classes))
    if imbalance is not None:
        console.print(f"[yellow]{imbalance.evidence}[/]; remedy: train.balance={balance}", highlight=False)
    sample_weights = class_weights[prepared.train.targets] if balance == "sampler" else None
    train_loader = make_loader(prepared.train, cfg, data.preprocess, device, train=True, sample_weights=sample_weights)
    val_loader = make_loader(prepared.val, cfg, data.preprocess, device, train=False) if prepared.val else None
    optimizer = build_optimizer(
        model,
        cfg.optim.name,
        lr=cfg.optim.lr,
        weight_decay=cfg.optim.weight_decay,
        momentum=cfg.optim.momentum,
        nesterov=cfg.optim.nesterov,
        betas=cfg.optim.betas,
        eps=cfg.optim.eps,
        layer_groups=layer_groups,
        lr_decay=cfg.model.lr_decay,
    )
    s = cfg.sched
    schedule = make_schedule(
        s.name,
        len(train_loader),
        cfg.train.epochs,
        warmup_epochs=s.warmup_epochs,
        step_size=s.step_size,
        gamma=s.gamma,
        min_lr_ratio=s.min_lr_ratio,
        pct_start=s.pct_start,
    )
    monitor = cfg.train.monitor if val_loader is not None else cfg.train.monitor.removeprefix("val_")
    plateau = Plateau(mode="min" if "loss" in monitor else "max", patience=s.patience, factor=s.factor)
    history = History()
    callbacks: list[Callback] = [
        history,
        ProgressLogger(cfg.train.epochs, len(train_loader), console),
        CSVLogger(paths.metrics, history),
        BestWeights(paths.best_weights, monitor),
    ]
    if cfg.train.early_stopping:
        callbacks.append(EarlyStopping(monitor, cfg.train.early_stopping))
    if cfg.model.finetune != "full":
        callbacks.append(finetune)
    monitor_cb = GradientMonitor(cfg.train.grad_monitor_every)
    if cfg.train.grad_monitor_every:
        callbacks.append(monitor_cb)
    callbacks += list(extra_callbacks)
    callbacks.append(
        ResumeCheckpoint(paths.checkpoints, cfg.train.checkpoint_every_steps, cfg.train.checkpoint_every_s)
    )
    trainer = Trainer(
        model,
        optimizer,
        make_loss(balance, cfg, class_weights),
        device=device,
        lr=LRController(optimizer, schedule, plateau if s.name == "plateau" else None),
        callbacks=callbacks,
        grad_clip=cfg.train.grad_clip,
        grad_clip_mode=cfg.train.grad_clip_mode,
        l1=cfg.optim.l1,
        plateau_monitor=monitor,
    )
    if resume_dir is not None:
        payload, source = load_checkpoint(paths.checkpoints)
        trainer.restore(payload)
        console.print(
            f"resuming {run_dir} from {source.name}: epoch {trainer.state.epoch + 1}, batch {trainer.state.batch}"
        )

    console.print(
        f"[bold]{cfg.model.name}[/] on [bold]{cfg.data.name}[/]: "
        f"{stats.trainable:,} trainable / {stats.frozen:,} frozen "
        f"parameters, {stats.forward_flops / 1e6:.1f} MFLOPs per example; train {len(prepared.train):,}, "
        f"val {len(prepared.val) if prepared.val else 0:,}, test {len(prepared.test):,}; {device}",
        highlight=False,
    )
    early_findings = [imbalance] if imbalance else []
    if not trainer.state.finished:
        try:
            with stop_on_signals(trainer):
                trainer.fit(train_loader, val_loader, cfg.train.epochs)
        except TrainingDiverged as err:
            diverged = Finding(
                "diverged",
                "training",
                str(err),
                ["lower the learning rate (neuralab lr-find suggests one)", "clip gradients (train.grad_clip=1.0)"],
            )
            write_findings(run_dir, [*early_findings, diverged, *analyze(monitor_cb.records)])
            raise UserError(
                f"training diverged: {err}",
                hint=f"the last good checkpoint is kept in {paths.checkpoints}; see `neuralab diagnose {run_dir}`",
            ) from None
    findings = [*early_findings, *analyze(monitor_cb.records), *analyze_history(history.rows, data.preprocess.kind)]
    write_findings(run_dir, findings)
    for finding in findings:
        console.print(f"[yellow]finding[/] {escape(str(finding))}", highlight=False)

    best = callbacks[3]
    assert isinstance(best, BestWeights)
    if paths.best_weights.exists():
        load_weights(trainer.model, paths.best_weights)
    card = model_card(cfg, input_shape, data.classes, data.preprocess, model_args)
    save_model(run_dir, trainer.model, card)

    test_metrics: dict[str, Any] | None = None
    if evaluate_test:
        result = trainer.evaluate(
            make_loader(prepared.test, cfg, data.preprocess, device, train=False), with_probabilities=True
        )
        test_metrics = {"loss": result.loss, **classification_metrics(result.y_true, result.y_pred, data.classes)}
        if device.is_main and result.probabilities is not None:
            save_errors(paths.errors, prepared.test, result.y_true, result.y_pred, result.probabilities)
    summary = {
        "dataset": cfg.data.name,
        "model": cfg.model.name,
        "test": test_metrics,
        "best": {"monitor": monitor, "value": best.watch.best, "epoch": (best.best_epoch or 0) + 1},
        "epochs_run": trainer.state.epoch,
        "final": history.rows[-1] if history.rows else {},
        "train_seconds": trainer.state.train_seconds,
        "train_images_per_s": trainer.state.samples_seen / max(trainer.state.train_seconds, 1e-9),
        "parameters": {"trainable": stats.trainable, "frozen": stats.frozen},
        "forward_flops": stats.forward_flops,
        "balance": balance,
        "embeddings": embeddings,
        "pretrained": pretrained,
        "finetune": {"strategy": cfg.model.finetune, "lr_decay": cfg.model.lr_decay, "groups": len(groups)},
        "findings": [f.kind for f in findings],
        "device": str(device.device),
        "precision": device.precision,
        "channels_last": device.channels_last,
        "reproducibility": {**reproducibility, "data_sha256": data_fingerprint(prepared.train)},
        "data": {
            "source": data.source,
            "train": len(prepared.train),
            "val": len(prepared.val) if prepared.val else 0,
            "test": len(prepared.test),
        },
        "versions": torch_versions(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    atomic_write_json(paths.summary, summary)
    if device.is_main and test_metrics is not None:
        write_report(run_dir)
    return RunResult(run_dir, summary)


def resume_run(run_dir: Path, console: Console | None = None) -> RunResult:
    paths = RunPaths(Path(run_dir))
    if not paths.config.is_file():
        raise UserError(f"{run_dir} is not a run folder (no config.yaml)")
    cfg = read_config(run_dir)
    if cfg.task == "gan":
        raise UserError(f"{run_dir} is a GAN run; GAN runs cannot be resumed yet", hint="train a new one")
    return run_config(cfg, console, resume_dir=Path(run_dir))


def evaluate_run(run_dir: Path, split: str = "test") -> dict[str, Any]:
    """Metrics of the saved model on `split` (test or val), recomputed from the data."""
    cfg = read_config(run_dir)
    model, card = load_model(run_dir)
    stored = Preprocess.from_dict(card["preprocess"])
    prepared = prepare_data(cfg, stored if stored.kind == "text" else None)
    samples = {"test": prepared.test, "val": prepared.val, "train": prepared.train}.get(split)
    if samples is None:
        raise UserError(f"split {split!r} is not available", hint="choose test, val or train")
    device = Device.create("cpu", "32", "auto", model)
    preprocess = Preprocess.from_dict(card["preprocess"])
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.0), cross_entropy(), device=device)
    result = trainer.evaluate(make_loader(samples, cfg, preprocess, device, train=False))
    return {
        "split": split,
        "loss": result.loss,
        **classification_metrics(result.y_true, result.y_pred, card["classes"]),
    }


def predict_images(run_dir: Path, files: list[Path], top_k: int = 1) -> list[dict[str, Any]]:
    """Class and probability for each image file, preprocessed exactly as in training."""
    model, card = load_model(run_dir)
    preprocess = Preprocess.from_dict(card["preprocess"])
    if preprocess.kind != "image":
        raise UserError("this run's model takes feature vectors, not images")
    batch = []
    for path in files:
        try:
            with Image.open(path) as image:
                image.load()
                batch.append(preprocess.image_to_uint8(image))
        except FileNotFoundError:
            raise UserError(f"{path}: no such file") from None
        except (OSError, UnidentifiedImageError) as err:
            raise UserError(f"{path}: cannot read the image ({err})") from None
    with torch.inference_mode():
        probs = torch.softmax(model(preprocess.normalize(torch.stack(batch))), 1)
    top = probs.topk(min(top_k, probs.shape[1]), dim=1)
    return [
        {
            "file": str(path),
            "top": [
                {"class": card["classes"][int(i)], "probability": float(p)}
                for p, i in zip(top.values[row], top.indices[row], strict=True)
            ],
        }
        for row, path in enumerate(files)
    ]


def predict_texts(run_dir: Path, texts: list[str], top_k: int = 1) -> list[dict[str, Any]]:
    """Class and probability for each text, tokenised with the run's own tokenizer."""
    model, card = load_model(run_dir)
    preprocess = Preprocess.from_dict(card["preprocess"])
    if preprocess.kind != "text":
        raise UserError(f"this run's model takes {preprocess.kind}s, not text", hint="give image files instead")
    tokenizer = Tokenizer.from_dict(preprocess.extra["tokenizer"])
    with torch.inference_mode():
        probs = torch.softmax(model(encode(tokenizer, texts, preprocess.input_shape[0])), 1)
    top = probs.topk(min(top_k, probs.shape[1]), dim=1)
    return [
        {
            "text": text,
            "top": [
                {"class": card["classes"][int(i)], "probability": float(p)}
                for p, i in zip(top.values[row], top.indices[row], strict=True)
            ],
        }
        for row, text in enumerate(texts)
    ]


def diagnose_run(run_dir: Path) -> list[Finding]:
    """Findings stored with the run, with overfitting recomputed from metrics.csv."""
    paths = RunPaths(Path(run_dir))
    if not paths.root.is_dir():
        raise UserError(f"run folder {run_dir} does not exist")
    stored = paths.root / "findings.json"
    findings = [Finding.from_dict(raw) for raw in read_json(stored)] if stored.exists() else []
    findings = [f for f in findings if f.kind != "overfitting"]
    if paths.metrics.exists():
        import csv

        with paths.metrics.open(newline="", encoding="utf-8") as fh:
            rows = [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(fh)]
        kind = read_json(paths.model_json)["preprocess"]["kind"] if paths.model_json.exists() else "image"
        findings += analyze_history(rows, kind)
    return findings


def find_lr(cfg: RunConfig, steps: int = 100, start: float = 1e-7, end: float = 10.0) -> LRFindResult:
    """The LR range test on the training split of `cfg`'s data and model."""
    seed_everything(cfg.train.seed, cfg.train.threads, cfg.train.deterministic)
    prepared = prepare_data(cfg)
    data = prepared.data
    model = create_model(cfg.model.name, data.preprocess.input_shape, len(data.classes), **cfg.model.args)
    device = Device.create(cfg.train.device, cfg.train.precision, cfg.train.channels_last, model)
    model = device.setup(model)
    optimizer = build_optimizer(
        model, cfg.optim.name, lr=start, weight_decay=cfg.optim.weight_decay, momentum=cfg.optim.momentum,
        nesterov=cfg.optim.nesterov, betas=cfg.optim.betas, eps=cfg.optim.eps,
    )  # fmt: skip
    trainer = Trainer(model, optimizer, cross_entropy(cfg.train.label_smoothing), device=device)
    loader = make_loader(prepared.train, cfg, data.preprocess, device, train=True)
    return lr_range_test(trainer, loader, start, end, steps)
