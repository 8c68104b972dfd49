from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator
from torch import nn

from neuralab.sklearn import NeuralNetClassifier, NeuralNetRegressor


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_digits(return_X_y=True)


@pytest.mark.parametrize("estimator", [NeuralNetClassifier(epochs=30, lr=1e-2), NeuralNetRegressor(epochs=30, lr=1e-2)])
def test_scikit_learn_estimator_checks(estimator) -> None:  # type: ignore[no-untyped-def]
    results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed
    assert sum(r["status"] == "passed" for r in results) >= 45


def test_grid_search_cv_picks_a_sensible_lr(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    search = GridSearchCV(NeuralNetClassifier(epochs=8), {"lr": [1e-6, 3e-3]}, cv=3)
    search.fit(x[:900], y[:900])
    assert search.best_params_ == {"lr": 3e-3} and search.best_score_ > 0.85
    assert search.score(x[900:], y[900:]) > 0.85


def test_randomized_search_pipeline_and_cross_val_score(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    pipe = make_pipeline(StandardScaler(), NeuralNetClassifier(epochs=6))
    scores = cross_val_score(pipe, x, y, cv=3)
    assert scores.mean() > 0.85
    search = RandomizedSearchCV(
        NeuralNetClassifier(epochs=6, lr=1e-2),
        {"model_args": [{"widths": [32]}, {"widths": [128, 64]}]},
        n_iter=2,
        cv=2,
        random_state=0,
    )
    assert search.fit(x[:600], y[:600]).best_score_ > 0.7


def linear(input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """A user model: any callable (input_shape, num_classes) -> Module (module-level, so it pickles)."""
    return nn.Linear(input_shape[0], num_classes)


def test_a_user_model_string_labels_and_pickling(digits: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])[y]

    clf = NeuralNetClassifier(model=linear, epochs=10, lr=1e-2).fit(x[:1200], names[:1200])
    assert set(clf.predict(x[1200:])) <= set(names) and clf.score(x[1200:], names[1200:]) > 0.85
    clone = pickle.loads(pickle.dumps(clf))
    assert (clone.predict_proba(x[:20]) == clf.predict_proba(x[:20])).all()
    assert clf.get_params()["lr"] == 1e-2 and clf.set_params(lr=0.5).lr == 0.5


def test_regressor_fits_a_linear_target() -> None:
    x, y = make_regression(n_samples=400, n_features=5, noise=1.0, random_state=0)
    reg = NeuralNetRegressor(model_args={"widths": [32]}, epochs=60, lr=1e-2).fit(x[:300], y[:300] / 100)
    assert reg.score(x[300:], y[300:] / 100) > 0.9


def test_classifier_takes_images_sequences_texts_and_one_hot_labels() -> None:
    from sklearn.datasets import load_digits

    from neuralab.keras.utils import to_categorical
    from neuralab.sklearn import NeuralNetClassifier

    digits = load_digits()
    images = (digits.images[:, :, :, None] * 255 / 16).astype(np.uint8)  # Keras's [N, H, W, C] layout, uint8
    one_hot = to_categorical(digits.target, 10)
    clf = NeuralNetClassifier(model="simple_cnn", epochs=4, lr=3e-3).fit(images[:1400], one_hot[:1400])
    assert clf.preprocess_.kind == "image" and clf.preprocess_.input_shape == (1, 8, 8)
    assert clf.score(images[1400:], digits.target[1400:]) > 0.8

    rows = digits.images / 16  # each image as a sequence of 8 rows of 8 numbers
    seq = NeuralNetClassifier(model="sequence_lstm", epochs=6, lr=1e-2).fit(rows[:1400], digits.target[:1400])
    assert seq.score(rows[1400:], digits.target[1400:]) > 0.6

    texts = [f"{w} {w} item" for w in ("apple", "pear", "plum")] * 20
    labels = [i % 3 for i in range(60)]
    bag = NeuralNetClassifier(model="text_bag", epochs=20, lr=1e-2).fit(texts, labels)
    assert bag.score(["plum plum item", "apple apple item"], [2, 0]) == 1.0


def test_a_mixed_type_table_regresses_in_a_scikit_learn_pipeline() -> None:
    """The house-price CSV (numbers and a string column) through ColumnTransformer + NeuralNetRegressor,
    tuned by GridSearchCV; the target is scaled by TransformedTargetRegressor, as scikit-learn does it."""
    import csv
    from pathlib import Path

    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import GridSearchCV, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from neuralab.sklearn import NeuralNetRegressor

    with (Path(__file__).parents[1] / "examples" / "house_prices.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    x = np.asarray([[r["area_m2"] or np.nan, r["location"] or "unknown", r["rooms"] or np.nan] for r in rows],
                   dtype=object)  # fmt: skip
    y = np.asarray([float(r["price"]) for r in rows])
    columns = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), [0, 2]),
        ("location", OneHotEncoder(handle_unknown="ignore"), [1]),
    ])  # fmt: skip
    model = TransformedTargetRegressor(
        make_pipeline(columns, NeuralNetRegressor(model_args={"widths": [32]}, lr=3e-3, epochs=60, random_state=0)),
        transformer=StandardScaler(),
    )
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
    search = GridSearchCV(model, {"regressor__neuralnetregressor__lr": [1e-4, 3e-3]}, cv=3).fit(x_train, y_train)
    assert search.best_params_ == {"regressor__neuralnetregressor__lr": 3e-3}  # 1e-4 barely moves in 60 epochs
    assert search.score(x_test, y_test) > 0.85
