"""The sections of a run config, one pydantic model each; every field carries its description.

`neuralab config keys` prints these descriptions, so they are the user's documentation of every key.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from neuralab.hardware import MAX_THREADS


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    name: str = Field("digits", description="dataset name (`neuralab datasets` lists them)")
    data_dir: Path | None = Field(None, description="folder holding the dataset's files (or the image folder)")
    file: Path | None = Field(None, description="CSV file of training rows (dataset csv)")
    download: bool = Field(True, description="download missing files from the official URL (sha256-checked)")
    val_fraction: float = Field(0.1, ge=0.0, lt=0.9, description="stratified share of train held out for validation")
    subset: int | None = Field(None, gt=0, description="use only this many training examples (stratified)")
    classes: list[str] | None = Field(None, description="keep only these classes (names), in this order")
    augment: Literal["none", "flip", "crop", "flip-crop"] = Field("none", description="batched train augmentation")
    crop_padding: int = Field(2, ge=0, description="pixels of zero padding for random crops")
    erase: float = Field(0.0, ge=0, le=1, description="random erasing: share of training images that get one "
                         "random rectangle (2-40% of the area) blanked (0: off; Zhong et al. used 0.5)")  # fmt: skip
    image_size: int | None = Field(
        None, gt=0, le=1024, description="resize folder images to this square size (at most 1024: every image is held)"
    )
    target_column: str = Field("label", description="CSV column holding the class label (regression: the target)")
    target_columns: list[str] | None = Field(
        None, description="regression: several numeric target columns, one model output each (multi-output)"
    )
    series_columns: list[str] | None = Field(None, description="forecast: the series columns fed to the model "
                                             "(default: every numeric column but a leading year/date)")  # fmt: skip
    sequence_length: int | None = Field(None, gt=0, description="csv: each row is a sequence of this many steps "
                                        "(feature columns in step order) for sequence models")  # fmt: skip
    window: int = Field(24, gt=0, description="forecast: past steps the model sees")
    horizon: int = Field(1, gt=0, description="forecast: future steps it predicts at once")
    stride: int = Field(1, gt=0, description="forecast: steps between the starts of training windows")
    season: int | None = Field(None, gt=1, description="forecast: seasonal period (12 for monthly) for the "
                               "seasonal-naive baseline and MASE")  # fmt: skip
    test_fraction: float = Field(0.2, gt=0, lt=0.9, description="forecast: the last share of steps, held out to test")
    test_file: Path | None = Field(None, description="CSV of test rows (otherwise a stratified 20% is held out)")
    num_workers: int = Field(2, ge=0, description="DataLoader workers for folder datasets (at most the usable cores)")
    text_column: str = Field("text", description="CSV column holding the text (csv-text)")
    text_level: Literal["auto", "word", "char", "char-bigram"] = Field(
        "auto", description="tokens: words, or characters (+ bigrams) for Chinese/Japanese; auto reads the script"
    )
    num_words: int | None = Field(20000, gt=2, description="vocabulary cap: the most frequent training tokens")
    ngrams: int = Field(1, ge=1, le=3, description="word level: add word n-grams up to this order (bag models)")
    min_freq: int = Field(1, ge=1, description="drop tokens seen fewer times in the training split")
    lowercase: bool = Field(True, description="lower-case text before tokenising")
    keep_punctuation: bool = Field(
        False, description="keep punctuation as tokens (and in Chinese/Japanese character bigrams)"
    )
    maxlen: int | None = Field(None, gt=0, description="tokens per text (default: 95th percentile of train, <= 400)")
    embeddings_file: Path | None = Field(None, description="GloVe / word2vec text-format vectors for text models")
    freeze_embeddings: bool = Field(True, description="keep pretrained vectors fixed (false: fine-tune them)")

    @field_validator("classes", "target_columns", "series_columns")
    @classmethod
    def _names_once(cls, names: list[str] | None) -> list[str] | None:
        """Each name is one output or input of the model: a repeat would give two outputs one name."""
        repeated = [name for name, count in Counter(names or []).items() if count > 1]
        if repeated:
            raise ValueError(f"names {repeated[0]!r} more than once; give each column or class once")
        return names


class ModelConfig(_Section):
    name: str = Field("mlp", description="model name (`neuralab models` lists them)")
    args: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the model builder")
    pretrained: str | None = Field(
        None, description="imagenet (torchvision's weights), a weights file (.safetensors/.pth), or a run folder"
    )
    finetune: Literal["full", "head", "gradual"] = Field(
        "full", description="train everything, only the head (frozen backbone, BatchNorm kept in eval), or "
        "unfreeze layer groups from the top, one more every `unfreeze_every` epochs",
    )  # fmt: skip
    unfreeze_every: int = Field(1, ge=1, description="epochs per stage of gradual unfreezing")
    lr_decay: float = Field(1.0, gt=0, le=1, description="discriminative lr: each earlier layer group gets lr x this")


class OptimConfig(_Section):
    name: Literal["sgd", "adam", "adamw", "rmsprop"] = Field("adam", description="optimizer")
    lr: float = Field(1e-3, gt=0, description="base learning rate (schedules scale it)")
    weight_decay: float = Field(0.0, ge=0, description="L2 / decoupled decay; never applied to biases and norms")
    momentum: float = Field(0.9, ge=0, lt=1, description="SGD and RMSprop momentum")
    nesterov: bool = Field(False, description="SGD: Nesterov momentum")
    betas: tuple[float, float] = Field((0.9, 0.999), description="Adam/AdamW moment decay rates")
    eps: float = Field(1e-8, gt=0, description="Adam/AdamW/RMSprop denominator term")
    l1: float = Field(0.0, ge=0, description="L1 penalty on weights, added to the loss")
    bias_lr_scale: float = Field(
        1.0, gt=0, description="learning-rate multiplier for biases and normalisation parameters (airbench: 64)"
    )


class SchedConfig(_Section):
    name: Literal["constant", "step", "cosine", "onecycle", "plateau"] = Field(
        "constant", description="learning-rate schedule over steps (plateau: reduce when train.monitor stalls)"
    )
    warmup_epochs: float = Field(0.0, ge=0, description="linear warm-up from 0, in epochs (fractions allowed)")
    step_size: int = Field(10, gt=0, description="step: epochs between decays")
    gamma: float = Field(0.1, gt=0, le=1, description="step: decay factor")
    min_lr_ratio: float = Field(0.0, ge=0, le=1, description="cosine/onecycle: final lr as a share of lr")
    pct_start: float = Field(0.25, gt=0, lt=1, description="onecycle: share of steps spent rising")
    patience: int = Field(2, ge=0, description="plateau: epochs without improvement before a decay")
    factor: float = Field(0.5, gt=0, lt=1, description="plateau: decay factor")


class _LoopConfig(_Section):
    """Where and how any training loop runs, and how often it checkpoints: shared by every task."""

    device: Literal["auto", "cpu", "cuda", "mps"] = Field("auto", description="auto: CUDA, then MPS, then CPU")
    precision: Literal["auto", "32", "16-mixed", "bf16-mixed"] = Field(
        "auto", description="autocast: auto = bf16 where the hardware has it, fp16 + scaler on older GPUs, else fp32"
    )
    channels_last: Literal["auto", "on", "off"] = Field("auto", description="NHWC memory layout (auto: conv models)")
    threads: int | None = Field(
        None, gt=0, le=MAX_THREADS, description="torch CPU threads; default: the machine's cores"
    )
    deterministic: bool = Field(False, description="ask torch for deterministic kernels (slower on GPU)")
    checkpoint_every_steps: int = Field(0, ge=0, description="also checkpoint every N steps (0: epoch ends only)")
    checkpoint_every_s: float = Field(60.0, ge=0, description="also checkpoint when this many seconds passed")

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_as_text(cls, value: Any) -> Any:
        """`--set train.precision=32` and YAML's `precision: 32` arrive as the number 32: mean "32"."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("channels_last", mode="before")
    @classmethod
    def _switch_as_text(cls, value: Any) -> Any:
        """YAML reads `on`/`off` (and `--set train.channels_last=off`) as booleans: mean "on"/"off"."""
        return ("on" if value else "off") if isinstance(value, bool) else value


class _FitConfig(_LoopConfig):
    """`train` settings shared by the supervised tasks (classify, regress)."""

    epochs: int = Field(10, gt=0, description="passes over the training split")
    batch_size: int = Field(64, gt=0, description="examples per optimizer step")
    eval_batch_size: int = Field(1024, gt=0, description="examples per forward pass when evaluating")
    seed: int = Field(0, description="seeds weights, splits, shuffling and augmentation")
    grad_clip: float | None = Field(None, gt=0, description="clip threshold; None disables clipping")
    grad_clip_mode: Literal["norm", "value"] = Field("norm", description="clip the global norm or each value")
    early_stopping: int | None = Field(None, gt=0, description="patience in epochs; None disables")
    grad_monitor_every: int = Field(50, ge=0, description="sample gradient/activation health every N steps (0: off)")
    compile: bool = Field(
        False, description="torch.compile (inductor) the training step; off by default: measured 1.4-2.1x slower "
        "per step on a 2-core CPU (benchmarks/compile_step.py), plus 25-35 s to compile",
    )  # fmt: skip
    ema: float = Field(
        0.0, ge=0, lt=1, description="decay of an exponential moving average of the weights, which evaluation, the "
        "best checkpoint and the saved model use (0: off; e.g. 0.99 averages the last ~100 steps)",
    )  # fmt: skip
    loggers: list[Literal["csv", "tensorboard", "mlflow"]] = Field(
        ["csv"], description="trackers besides metrics.csv (always written): tensorboard, mlflow"
    )


class TrainConfig(_FitConfig):
    """`train` of a classification run."""

    monitor: str = Field("val_accuracy", description="metric for early stopping and the best checkpoint")
    label_smoothing: float = Field(0.0, ge=0, lt=1, description="share of each target spread over all classes")
    balance: Literal["none", "class_weights", "sampler", "focal", "auto"] = Field(
        "auto", description="class-imbalance remedy; auto picks class_weights when the labels are skewed"
    )
    imbalance_ratio: float = Field(3.0, gt=1, description="auto: most/least frequent class count that counts as skewed")
    focal_gamma: float = Field(2.0, ge=0, description="focal loss focusing parameter")


class RegressTrainConfig(_FitConfig):
    """`train` of a regression run: the loss is on standardised targets, metrics are in the target's units."""

    monitor: str = Field("val_rmse", description="metric for early stopping and the best checkpoint (val_rmse, "
                         "val_mae, val_r2, val_loss)")  # fmt: skip
    loss: Literal["mse", "mae", "huber"] = Field("mse", description="mse, mae (L1), or huber (robust to outliers)")
    huber_delta: float = Field(1.0, gt=0, description="huber: where the loss turns linear, in target std units")


class SslTrainConfig(_FitConfig):
    """`train` of a self-supervised run: no labels, so it monitors the contrastive loss."""

    monitor: str = Field("loss", description="metric for early stopping and the kept weights (the training loss)")
    batch_size: int = Field(256, gt=1, description="images per step: each one's other view is its positive, the "
                            "rest of the batch its negatives (contrastive learning likes large batches)")  # fmt: skip
    epochs: int = Field(30, gt=0, description="passes over the training images")


class SslConfig(_Section):
    """Self-supervised pretraining (`task: ssl`): SimCLR, contrastive learning between two augmented views."""

    temperature: float = Field(0.2, gt=0, description="softmax temperature of the contrastive (NT-Xent) loss")
    projection_dim: int = Field(64, gt=0, description="size of the projection head's output the loss compares")
    crop_scale: float = Field(0.4, gt=0, le=1, description="smallest area kept by the random resized crop")
    flip: bool = Field(False, description="mirror views left-right (on for clothing or scenes, off for digits)")
    jitter: float = Field(0.4, ge=0, description="brightness/contrast jitter strength")
    noise: float = Field(0.1, ge=0, description="Gaussian noise added to each view (in normalised units)")
    probe_labels: int = Field(10, ge=1, description="labels per class in the few-label linear probe")


class GanConfig(_Section):
    """The DCGAN's own settings (`task: gan`); its batch size and Adam settings are under train and optim."""

    latent_dim: int = Field(64, gt=0, description="size of the generator's noise vector")
    width: int = Field(64, gt=0, description="channels of the first layer (the second has twice as many)")
    real_label: float = Field(0.9, gt=0.5, le=1, description="one-sided label smoothing for real images")
    samples: int = Field(64, gt=0, le=256, description="images in each epoch's sample grid (fixed noise)")
    fd_samples: int = Field(2000, ge=100, description="generated vs test images compared by Frechet distance")


class GanTrainConfig(_LoopConfig):
    """`train` of a GAN run: the loop's settings; no monitor, early stopping or class balance apply."""

    epochs: int = Field(5, gt=0, description="passes over the training images")
    batch_size: int = Field(64, ge=2, description="images per step (DCGAN paper: 128; 64 learns faster on CPU)")
    seed: int = Field(0, description="seeds weights, noise and shuffling")
    precision: Literal["auto", "32", "16-mixed", "bf16-mixed"] = Field(
        "32", description="autocast for both nets (fp32 by default: the README's GAN figures are fp32)"
    )


class GanOptimConfig(_Section):
    """`optim` of a GAN run: Adam for both nets, as in the DCGAN paper."""

    lr: float = Field(2e-4, gt=0, description="Adam learning rate of both nets (DCGAN paper: 2e-4)")
    betas: tuple[float, float] = Field((0.5, 0.999), description="Adam betas (DCGAN paper: beta1 0.5; 0.9 oscillates)")
