from __future__ import annotations

from pathlib import Path

import pytest

from neuralab.config import deep_merge, load_yaml, parse_set, validate
from neuralab.errors import UserError
from neuralab.pipeline import resolve_config


def test_unknown_key_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(UserError) as err:
        validate({"optim": {"lrr": 0.1}})
    assert "unknown config key 'optim.lrr'" in str(err.value)
    assert "lr" in str(err.value) and "weight_decay" in str(err.value)


def test_unknown_section_is_refused() -> None:
    with pytest.raises(UserError, match="unknown config key 'trian'"):
        validate({"trian": {"epochs": 3}})


def test_wrong_type_names_the_key_and_value() -> None:
    with pytest.raises(UserError) as err:
        validate({"train": {"epochs": "ten"}})
    assert "train.epochs" in str(err.value) and "'ten'" in str(err.value)


def test_set_parses_yaml_values_into_nested_keys() -> None:
    tree = parse_set(["optim.lr=3e-4", "model.args.widths=[64, 32]", "train.grad_clip=null", "name=x"])
    assert tree == {
        "optim": {"lr": 3e-4},
        "model": {"args": {"widths": [64, 32]}},
        "train": {"grad_clip": None},
        "name": "x",
    }
    cfg = validate(tree)
    assert cfg.optim.lr == pytest.approx(3e-4) and cfg.model.args["widths"] == [64, 32]


def test_set_without_equals_is_refused() -> None:
    with pytest.raises(UserError, match=r"key\.sub=value"):
        parse_set(["optim.lr"])


def test_yaml_errors_are_user_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_yaml(bad)
    with pytest.raises(UserError, match="does not exist"):
        load_yaml(tmp_path / "missing.yaml")
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(UserError, match="mapping"):
        load_yaml(listy)


def test_a_yaml_alias_bomb_is_refused_before_anything_walks_it(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10**9 strings once expanded
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join([*lines, "data:", "  classes: *a8"]) + "\n")
    with pytest.raises(UserError, match="expands to more than 100,000 values"):
        load_yaml(bomb)
    with pytest.raises(UserError, match="expands to more than"):
        levels = ["&b0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
        levels += [f"&b{i} [{', '.join([f'*b{i - 1}'] * 10)}]" for i in range(1, 6)]  # 10**6 once expanded
        parse_set([f"data.classes=[{', '.join(levels)}]"])
    shared = tmp_path / "anchors.yaml"  # aliases within reason still work
    shared.write_text("model: {name: mlp, args: &w {widths: [32, 32]}}\nexperiment: {args: *w}\n")
    assert load_yaml(shared)["experiment"]["args"] == {"widths": [32, 32]}


@pytest.mark.parametrize("name", ["../elsewhere", "a/b", "..", "a\\b", " "])
def test_a_run_name_is_one_folder_inside_out_dir(name: str) -> None:
    with pytest.raises(UserError, match="not a folder name"):
        resolve_config({"name": name})
    assert resolve_config({"name": "my-run.v2"}).name == "my-run.v2"


def test_deep_merge_merges_nested_and_later_wins() -> None:
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def test_recipe_applies_beneath_the_user() -> None:
    cfg = resolve_config({"data": {"name": "fashion-mnist"}, "train": {"epochs": 2}})
    assert cfg.model.name == "fast_cnn" and cfg.optim.name == "sgd" and cfg.train.epochs == 2
    assert cfg.data.augment == "flip"


def test_choosing_a_model_drops_the_recipe_model_args() -> None:
    cfg = resolve_config({"data": {"name": "image-folder"}, "model": {"name": "mlp"}})
    assert cfg.model.name == "mlp" and cfg.model.args == {}


def test_config_round_trips_through_yaml(tmp_path: Path) -> None:
    cfg = resolve_config({"data": {"name": "digits"}})
    path = tmp_path / "c.yaml"
    path.write_text(cfg.to_yaml())
    assert validate(load_yaml(path)) == cfg


@pytest.mark.parametrize("task", ["classify", "gan", "ssl"])
def test_precision_32_typed_as_a_number_means_fp32(task: str) -> None:
    """`--set train.precision=32` parses as the number 32 (the README's own fp32 command)."""
    cfg = validate(deep_merge({"task": task}, parse_set(["train.precision=32"])))
    assert cfg.train.precision == "32"
    with pytest.raises(UserError, match=r"train\.precision"):
        validate({"task": task, "train": {"precision": 16}})


@pytest.mark.parametrize("value", ["off", "on", "auto"])
def test_channels_last_switch_typed_as_yaml_on_off(value: str) -> None:
    """YAML 1.1 reads `off`/`on` as booleans: `--set train.channels_last=off` must still mean "off"."""
    cfg = validate(deep_merge({"task": "classify"}, parse_set([f"train.channels_last={value}"])))
    assert cfg.train.channels_last == value


def test_a_key_given_twice_is_refused_rather_than_silently_dropping_the_first(tmp_path: Path) -> None:
    twice = tmp_path / "twice.yaml"
    twice.write_text("train: {epochs: 30}\ndata: {name: digits}\ntrain: {batch_size: 64}\n")
    with pytest.raises(UserError, match="the key 'train' appears twice in one section"):
        load_yaml(twice)
    merged = tmp_path / "merged.yaml"  # YAML's merge key overrides on purpose: still allowed
    merged.write_text("base: &b {epochs: 3, batch_size: 64}\ntrain:\n  <<: *b\n  epochs: 5\n")
    assert load_yaml(merged)["train"] == {"epochs": 5, "batch_size": 64}


def test_a_key_no_task_has_is_refused_before_the_recipe_is_looked_up() -> None:
    from neuralab.config.schema import refuse_keys_no_task_has

    with pytest.raises(UserError, match=r"unknown config key 'train.epoks' \(did you mean 'epochs'\?\)") as err:
        refuse_keys_no_task_has({"train": {"epoks": 3}, "bogus": 1})
    assert "unknown config key 'bogus'" in str(err.value)
    # A key of another task, or inside a free-form field, is left to the validation that knows the task
    # (a dataset's recipe may choose it: diabetes regresses).
    refuse_keys_no_task_has({"gan": {"latent_dim": 8}, "model": {"args": {"anything": 1}}, "data": {"window": 4}})
    refuse_keys_no_task_has({"data": "not a section"})  # a wrong type is validate's to name


def test_the_cli_refuses_a_wrong_key_without_loading_torch(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from neuralab.cli.app import resolved_config\n"
        "from neuralab.errors import UserError\n"
        "try:\n"
        "    resolved_config(None, ['train.epoks=3'], {})\n"
        "except UserError as err:\n"
        "    print('refused', 'torch' in sys.modules, err.message.splitlines()[0])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("refused False unknown config key 'train.epoks'"), done.stdout + done.stderr


def test_a_thread_count_that_would_crash_torch_is_refused() -> None:
    with pytest.raises(UserError, match=r"'train.threads': Input should be less than or equal to 1024"):
        validate({"train": {"threads": 100_000}})  # torch's thread pool segfaults near there


def test_an_image_size_past_memory_is_refused() -> None:
    with pytest.raises(UserError, match=r"'data.image_size': Input should be less than or equal to 1024"):
        validate({"data": {"image_size": 100_000}})  # digits at 100,000 px asked torch for 14 TB


@pytest.mark.parametrize("key", ["classes", "target_columns", "series_columns"])
def test_a_name_given_twice_is_refused(key: str) -> None:
    # two outputs named alike would train, then answer with one of them lost (and model.json refuses it)
    with pytest.raises(UserError, match=rf"'data.{key}': Value error, names 'price' more than once"):
        validate({"data": {key: ["price", "size", "price"]}})
