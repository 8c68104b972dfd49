"""`neuralab config keys | show | check` and usage errors, through a real subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli


def test_keys_lists_every_key_with_type_default_and_description() -> None:
    result = run_cli("config", "keys", "train")
    assert result.returncode == 0, result.stderr
    assert "train.batch_size" in result.stdout and "examples per optimizer step" in result.stdout
    assert "data.name" not in result.stdout  # only the section asked for
    gan = run_cli("config", "keys", "--task", "gan")
    assert "gan.latent_dim" in gan.stdout and "model.name" not in gan.stdout


def test_show_prints_the_resolved_config_with_the_recipe() -> None:
    result = run_cli("config", "show", "--dataset", "fashion-mnist", "--set", "train.epochs=3")
    assert result.returncode == 0, result.stderr
    cfg = yaml.safe_load(result.stdout)
    assert cfg["model"]["name"] == "fast_cnn"  # from the dataset's recipe
    assert cfg["train"]["epochs"] == 3 and cfg["train"]["batch_size"] == 256  # the user's key over the recipe
    assert "gan" not in cfg  # a classification config carries no GAN block


def test_check_accepts_a_good_file_and_names_a_typo(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("data: {name: digits}\ntrain: {epochs: 2}\n")
    result = run_cli("config", "check", str(good))
    assert result.returncode == 0 and "valid classify config" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: {batch_sise: 2}\n")
    result = run_cli("config", "check", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "train.batch_sise" in result.stderr and "did you mean 'batch_size'" in result.stderr
    assert "neuralab config keys" in result.stderr  # the hint names a command that exists


def test_gan_runs_refuse_keys_they_would_ignore(tmp_path: Path) -> None:
    result = run_cli("config", "show", "--task", "gan", "--model", "fast_cnn")
    assert result.returncode == 2 and "'model' is not used by task: gan runs" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["traine"], "No such command 'traine'"),
        (["train", "--no-such-flag", "2"], "No such option"),
        (["evaluate"], "Missing argument"),
        (["train", "--epochs", "many"], "Invalid value"),
        (["config"], "Usage:"),
    ],
)
def test_usage_errors_print_usage_not_a_traceback(args: list[str], message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    output = result.stdout + result.stderr
    assert message in output and "Traceback" not in output
