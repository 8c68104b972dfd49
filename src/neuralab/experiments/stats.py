"""The statistics behind `neuralab compare`, from scipy, with their verdicts in plain words.

- Two single runs on the same test split: McNemar's exact test on their paired predictions (only
  the examples where exactly one run is right carry information; under "equally good" each such
  example is a fair coin), via scipy's exact binomial test.
- Two single regressions or forecasts on the same test rows: the Wilcoxon signed-rank test on their
  paired absolute errors (no normality assumed; each row is its own control).
- Two groups of seeds: Welch's t-test (no equal-variance assumption) and a bootstrap interval of
  the difference of the means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

ALPHA = 0.05


@dataclass(frozen=True)
class Significance:
    test: str
    p_value: float
    difference: float  # B minus A, in the metric's units (accuracy as a fraction)
    detail: dict[str, Any] = field(default_factory=dict)
    metric: str = "test accuracy"
    higher_is_better: bool = True
    in_points: bool = True  # a fraction shown as percentage points; otherwise in the metric's own units

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    def verdict(self, a: str = "A", b: str = "B", metric: str | None = None) -> str:
        """The result in words a learner can act on; `a` is the baseline, `b` the challenger."""
        metric = metric or self.metric
        points = f"{100 * self.difference:+.2f} points" if self.in_points else f"{self.difference:+.4g}"
        if self.significant:
            better = f"{b} is better" if (self.difference > 0) == self.higher_is_better else f"{b} is worse"
            return (f"{better} than {a} on {metric} ({points}). If the two were equally good, a difference at least "
                    f"this large would appear by chance in only {100 * self.p_value:.2g}% of repetitions "
                    f"({self.test}, p = {self.p_value:.3g} < {ALPHA}): significant.")  # fmt: skip
        return (f"The difference of {b} from {a} on {metric} ({points}) is within what chance alone produces: "
                f"two equally good models would differ this much in {100 * self.p_value:.2g}% of repetitions "
                f"({self.test}, p = {self.p_value:.3g} >= {ALPHA}). Not significant: more seeds or a larger "
                "test set would be needed to tell them apart.")  # fmt: skip


def mcnemar(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> Significance:
    """McNemar's exact test on two classifiers' predictions for the same examples."""
    right_a, right_b = pred_a == y_true, pred_b == y_true
    only_a, only_b = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
    discordant = only_a + only_b
    p_value = 1.0 if discordant == 0 else float(stats.binomtest(only_b, discordant, 0.5).pvalue)
    return Significance(
        "McNemar's exact test on paired predictions",
        p_value,
        float(right_b.mean() - right_a.mean()),
        {"only_a_right": only_a, "only_b_right": only_b, "both_right": int((right_a & right_b).sum()),
         "both_wrong": int((~right_a & ~right_b).sum())},
    )  # fmt: skip


def paired_errors(abs_a: np.ndarray, abs_b: np.ndarray, metric: str = "test MAE") -> Significance:
    """The Wilcoxon signed-rank test on two models' absolute errors for the same test rows."""
    diff = np.asarray(abs_b, dtype=float) - np.asarray(abs_a, dtype=float)
    p_value = 1.0 if not np.any(diff) else float(stats.wilcoxon(diff, zero_method="wilcox").pvalue)
    return Significance(
        "Wilcoxon signed-rank test on paired absolute errors", p_value, float(diff.mean()),
        {"rows": len(diff), "b_closer": int((diff < 0).sum()), "a_closer": int((diff > 0).sum())},
        metric=metric, higher_is_better=False, in_points=False,
    )  # fmt: skip


def welch(values_a: list[float], values_b: list[float], seed: int = 0, metric: str = "test accuracy",
          higher_is_better: bool = True, in_points: bool = True) -> Significance:  # fmt: skip
    """Welch's t-test on two groups of per-seed results, with a 95% bootstrap interval of the difference."""
    a, b = np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's t-test needs at least two runs in each group")
    if np.ptp(np.concatenate([a, b])) == 0:
        t_stat, p_value = 0.0, 1.0  # identical results: no evidence of any difference
    else:
        result = stats.ttest_ind(b, a, equal_var=False)
        t_stat, p_value = float(result.statistic), float(result.pvalue)
        if not np.isfinite(p_value):  # both groups constant but different: every seed agrees
            p_value = 0.0
    interval = stats.bootstrap(
        (b, a), lambda x, y, axis: x.mean(axis=axis) - y.mean(axis=axis), vectorized=True,
        n_resamples=9999, method="percentile", random_state=seed,
    ).confidence_interval  # fmt: skip
    return Significance(
        "Welch's t-test over seeds",
        p_value,
        float(b.mean() - a.mean()),
        {"t": t_stat, "bootstrap_95": [float(interval.low), float(interval.high)], "n_a": len(a), "n_b": len(b)},
        metric=metric,
        higher_is_better=higher_is_better,
        in_points=in_points,
    )


def mean_interval(values: list[float], confidence: float = 0.95) -> dict[str, Any]:
    """Mean, sample standard deviation and a t confidence interval of the mean."""
    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    std = float(data.std(ddof=1)) if len(data) > 1 else 0.0
    if len(data) > 1 and std > 0:
        low, high = stats.t.interval(confidence, len(data) - 1, loc=mean, scale=std / np.sqrt(len(data)))
    else:
        low = high = mean
    return {"mean": mean, "std": std, "ci95": [float(low), float(high)], "values": [float(v) for v in data]}
