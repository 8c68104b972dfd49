from __future__ import annotations

import pytest

from neuralab.train.schedules import cosine, make_schedule, one_cycle, step_decay, with_warmup


def test_cosine_runs_from_one_to_the_floor() -> None:
    f = cosine(100, min_ratio=0.1)
    assert f(0) == pytest.approx(1.0) and f(50) == pytest.approx(0.55) and f(100) == pytest.approx(0.1)
    assert f(1000) == pytest.approx(0.1)


def test_step_decay() -> None:
    f = step_decay(10, 0.5)
    assert [f(0), f(9), f(10), f(25)] == [1.0, 1.0, 0.5, 0.25]


def test_one_cycle_rises_then_falls() -> None:
    f = one_cycle(100, pct_start=0.2, start_ratio=0.04)
    assert f(0) == pytest.approx(0.04) and f(20) == pytest.approx(1.0) and f(100) == pytest.approx(0.0)
    assert f(10) == pytest.approx(0.52)


def test_warmup_then_schedule() -> None:
    f = with_warmup(cosine(10), 5)
    assert [round(f(s), 3) for s in range(5)] == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert f(5) == pytest.approx(1.0)


def test_make_schedule_counts_epochs_in_steps() -> None:
    f = make_schedule("step", steps_per_epoch=10, epochs=30, step_size=10, gamma=0.1)
    assert f(99) == 1.0 and f(100) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        make_schedule("bogus", 10, 1)
