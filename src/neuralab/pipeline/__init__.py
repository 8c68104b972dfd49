"""From a config to a finished run folder, and back from a run folder to answers.

One module per job: `prepare` (config resolution, data, loaders), `warm_start` (pretrained weights,
vectors, statistics), `machinery` (run folder, signals, checkpoints: shared by every task),
`classify`, `regress` and `gan` (one task each; `prepare_table` readies a regression's rows), `artifacts`
(summary, error gallery), `inference` and `table_inference` (evaluate, predict, diagnose, lr-find),
`run` (train or resume whatever the task).
"""

from neuralab.pipeline.classify import RunResult, run_config
from neuralab.pipeline.gan import run_gan, sample_grid
from neuralab.pipeline.inference import diagnose_run, evaluate_run, find_lr, predict_images, predict_texts
from neuralab.pipeline.prepare import (
    PreparedData,
    classification_config,
    prepare_data,
    resolve_config,
    supervised_config,
)
from neuralab.pipeline.run import resume_run, run_supervised, train

__all__ = [
    "PreparedData",
    "RunResult",
    "classification_config",
    "diagnose_run",
    "evaluate_run",
    "find_lr",
    "predict_images",
    "predict_texts",
    "prepare_data",
    "resolve_config",
    "resume_run",
    "run_config",
    "run_gan",
    "run_supervised",
    "sample_grid",
    "supervised_config",
    "train",
]
