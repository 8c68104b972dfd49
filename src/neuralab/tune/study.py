"""Studies persist in SQLite (or any RDB URL), so they resume and several processes share one."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any, Literal

import optuna
import sqlalchemy.exc

from neuralab.errors import UserError
from neuralab.tune.space import Param, grid_space

SAMPLERS = ("tpe", "random", "grid", "cmaes", "nsga2")
PRUNERS = ("none", "median", "halving", "hyperband")
_CREATE_ATTEMPTS = 5


def make_sampler(name: str, params: list[Param], seed: int) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        # Optuna's default of 10 random start-up trials would make a short study pure random search.
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=3, multivariate=True)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(grid_space(params), seed=seed)
    if name == "nsga2":  # the genetic algorithm for several objectives, once a study has many trials
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=8)
    if name == "cmaes":
        if any(p.kind == "categorical" for p in params):
            raise UserError("the cmaes sampler handles int and float ranges only", hint="use tpe for categorical keys")
        return optuna.samplers.CmaEsSampler(seed=seed)
    raise UserError(f"unknown sampler {name!r}", hint=f"choose one of: {', '.join(SAMPLERS)}")


def make_pruner(name: str, max_epochs: int) -> optuna.pruners.BasePruner:
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(max_epochs, 1))
    raise UserError(f"unknown pruner {name!r}", hint=f"choose one of: {', '.join(PRUNERS)}")


def storage_for(
    study_dir: Path, url: str | None, heartbeat: int = 10, max_retry: int = 2
) -> optuna.storages.BaseStorage:
    """SQLite in the study folder by default; the timeout lets concurrent workers wait for the lock.

    Every running trial beats every `heartbeat` seconds; one silent for three beats belonged to a
    worker that died (SIGKILL, a lost machine): the next worker to ask for a trial marks it FAILED
    and queues its parameters again, at most `max_retry` times. `heartbeat=0` turns this off.
    """
    url = url or f"sqlite:///{(study_dir / 'study.db').resolve()}"
    connect_args = {"timeout": 60} if url.startswith("sqlite") else {}
    liveness: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if heartbeat > 0:
            callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
            liveness = {
                "heartbeat_interval": heartbeat,
                "grace_period": 3 * heartbeat,
                "heartbeat_stale_trial_callback": callback,
            }
        return _open_rdb(url, connect_args, liveness)


def _open_rdb(url: str, connect_args: dict[str, Any], liveness: dict[str, Any]) -> optuna.storages.RDBStorage:
    """Workers started together on an empty database race to create its tables.

    PostgreSQL answers the loser's CREATE TABLE with a unique violation on its catalogue (or "already
    exists"); by then the winner's tables exist, so trying again a moment later opens them.
    """
    for attempt in range(_CREATE_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": connect_args}, **liveness)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as err:
            if attempt == _CREATE_ATTEMPTS - 1:
                raise UserError(f"cannot open study storage {url!r}: {str(err).splitlines()[0]}") from None
            time.sleep(0.2 * (attempt + 1))
        except Exception as err:  # unreachable server, missing driver, bad URL: all reach the user the same way
            raise UserError(f"cannot open study storage {url!r}: {str(err).splitlines()[0]}") from None
    raise AssertionError("unreachable")


Direction = Literal["minimize", "maximize"]


def open_study(
    storage: optuna.storages.BaseStorage,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
    directions: list[Direction],
    names: list[str],
) -> optuna.Study:
    """Create the study, or join the one in `storage` when it optimises the same objectives."""
    try:
        study = optuna.create_study(study_name="neuralab", storage=storage, sampler=sampler, pruner=pruner,
                                    directions=directions, load_if_exists=True)  # fmt: skip
    except ValueError as err:  # an existing study with another number of objectives or directions
        raise UserError(f"the study in this folder optimises other objectives: {err}",
                        hint="use a new --out folder, or the study's own --objectives") from None  # fmt: skip
    stored = study.user_attrs.get("objectives")
    if stored is not None and stored != names:
        raise UserError(f"the study in this folder optimises {', '.join(stored)}, not {', '.join(names)}",
                        hint="use a new --out folder, or the study's own --objectives")  # fmt: skip
    if stored is None:
        study.set_user_attr("objectives", names)
    return study
