"""Time series: read with clear errors, split in time order, scaled from the past, windows inside their span."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from neuralab.data import DATASETS, LoadOptions
from neuralab.data.series import Series, SeriesScaler, read_series, spans, windows
from neuralab.errors import UserError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_time_column_labels_the_steps_and_numeric_columns_are_the_series(tmp_path: Path) -> None:
    series = read_series(write(tmp_path, "date,sales,visits\n2024-01,1,10\n2024-02,2,20\n2024-03,3,30\n"))
    assert series.columns == ["sales", "visits"] and series.time == ["2024-01", "2024-02", "2024-03"]
    assert series.values.tolist() == [[1, 10], [2, 20], [3, 30]]
    years = read_series(write(tmp_path, "year,n\n1700,5\n1701,11\n"))
    assert years.columns == ["n"] and years.time == ["1700", "1701"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("t,v\n1,2\n2,\n3,4\n", "s.csv:3: series 'v' is empty: a series needs a number at every step"),
        ("t,v\n1,2\n2,nan\n", "s.csv:3: series 'v' holds 'nan'"),
        ("t,v\n1,2\n2,lots\n", "s.csv:3: series 'v' holds 'lots'"),
        ("t,v\n1,2\n2,1e300\n", "s.csv:3: series 'v' holds '1e300', beyond the range of float32"),  # inf, then NaN
        ("t,v\n1,2\n2," + "x" * 5000 + "\n", r"s.csv:3: series 'v' holds 'x{39}\.\.\. \(5002 characters\)"),
        ("name,city\nann,paris\n", "no numeric column to forecast"),
        ("", "the file is empty"),
    ],
)
def test_bad_series_are_named_by_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        read_series(write(tmp_path, text))


def test_windows_stay_inside_their_span_and_line_up_with_the_future() -> None:
    values = np.arange(20, dtype=np.float64)[:, None]
    x, y = windows(values, 0, window=4, horizon=2, stride=3)
    assert x.shape == (5, 4, 1) and y.shape == (5, 2)
    assert x[1, :, 0].tolist() == [3, 4, 5, 6] and y[1].tolist() == [7, 8]
    assert x[-1, :, 0].tolist() == [12, 13, 14, 15] and y[-1].tolist() == [16, 17]  # 18, 19: no full window
    with pytest.raises(UserError, match=r"shorter than data.window \+ data.horizon \(4 \+ 2\)"):
        windows(values[:5], 0, window=4, horizon=2, stride=1)


def test_splits_are_in_time_order_and_the_scale_comes_from_the_training_span() -> None:
    train_end, val_end = spans(100, val_fraction=0.1, test_fraction=0.2)
    assert (train_end, val_end) == (70, 80)
    values = np.concatenate([np.zeros(70), np.full(30, 1000.0)])[:, None]  # the future is very different
    scaler = SeriesScaler.fit(["v"], values[:train_end])
    assert scaler.mean == [0.0]  # nothing of the validation or test span leaked into it


def test_the_bundled_real_series_load_offline() -> None:
    sun = DATASETS.get("sunspots").load(LoadOptions()).train
    nino = DATASETS.get("elnino").load(LoadOptions()).train
    assert isinstance(sun, Series) and isinstance(nino, Series)
    assert len(sun) == 309 and sun.time[0] == "1700" and sun.season == 11
    assert len(nino) == 732 and nino.time[-1] == "2010-12" and nino.season == 12
    assert np.isfinite(sun.values).all() and np.isfinite(nino.values).all()
