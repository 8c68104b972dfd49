"""The statistics against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab.experiments.stats import mcnemar, mean_interval, paired_errors, welch


def test_mcnemar_exact_matches_the_binomial_table() -> None:
    # 13 discordant examples, 3 where only B is right: p = 2 * P(X <= 3 | n=13, 1/2) = 2 * 378 / 8192
    y = np.zeros(100, dtype=int)
    pred_a = np.zeros(100, dtype=int)
    pred_b = np.zeros(100, dtype=int)
    pred_b[:10] = 1  # A right, B wrong on 10
    pred_a[10:13] = 1  # B right, A wrong on 3
    pred_a[13:20] = pred_b[13:20] = 1  # both wrong on 7
    result = mcnemar(y, pred_a, pred_b)
    assert result.detail == {"only_a_right": 10, "only_b_right": 3, "both_right": 80, "both_wrong": 7}
    assert result.p_value == pytest.approx(2 * 378 / 8192)
    assert result.difference == pytest.approx(-0.07)
    assert not result.significant and "Not significant" in result.verdict()


def test_identical_predictions_are_never_significant() -> None:
    y = np.arange(10) % 3
    assert mcnemar(y, y, y).p_value == 1.0
    assert welch([0.9, 0.9], [0.9, 0.9]).p_value == 1.0


def test_welch_separates_clearly_different_groups_and_names_the_direction() -> None:
    result = welch([0.80, 0.81, 0.79, 0.80], [0.90, 0.91, 0.89, 0.90])
    assert result.p_value < 1e-4 and result.difference == pytest.approx(0.10)
    low, high = result.detail["bootstrap_95"]
    assert 0.08 < low <= 0.10 <= high < 0.12
    assert result.verdict("small", "big").startswith("big is better than small")


def test_mean_interval_is_the_t_interval() -> None:
    summary = mean_interval([1.0, 2.0, 3.0])
    assert summary["mean"] == 2.0 and summary["std"] == 1.0
    half = 4.302652729911275 / np.sqrt(3)  # t(0.975, df=2)
    assert summary["ci95"] == pytest.approx([2 - half, 2 + half])


def test_paired_errors_say_lower_is_better_and_ignore_what_chance_explains() -> None:
    rng = np.random.default_rng(0)
    errors_a = np.abs(rng.normal(0, 1, 200))
    better = paired_errors(errors_a, errors_a * 0.7)
    assert better.significant and better.difference < 0
    assert better.verdict("A", "B").startswith("B is better than A on test MAE")
    worse = paired_errors(errors_a, errors_a + 0.2)
    assert worse.significant and worse.verdict("A", "B").startswith("B is worse")
    assert paired_errors(errors_a, errors_a).p_value == 1.0
    noise = paired_errors(errors_a, np.abs(rng.normal(0, 1, 200)))
    assert not noise.significant  # two draws of the same error distribution


def test_welch_on_an_error_metric_calls_the_lower_group_better() -> None:
    result = welch([55.0, 55.4, 54.8], [50.1, 50.3, 49.9], metric="test RMSE", higher_is_better=False,
                   in_points=False)  # fmt: skip
    assert result.significant and result.verdict("A", "B").startswith("B is better than A on test RMSE (-4.967)")
