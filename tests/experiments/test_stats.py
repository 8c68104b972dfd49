"""The statistics against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from neuralab.experiments.stats import mcnemar, mean_interval, welch


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
