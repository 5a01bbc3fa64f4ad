"""Bad input to ``analyze`` fails early with a message that names the problem."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlotel.sensitivity import analyze

X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3, "label": np.arange(20) % 2})


def model(d: pd.DataFrame) -> np.ndarray:
    return d["a"].to_numpy() * 2.0


def test_a_model_without_predict_and_not_callable_is_a_type_error_before_reading():
    consumed = []

    def batches():
        consumed.append(True)
        yield X

    with pytest.raises(TypeError, match=r"predict_proba\(\) or predict\(\), or be a callable.*dict"):
        analyze({"weights": [1, 2]}, batches())
    assert not consumed  # failed before the data was read
    with pytest.raises(TypeError, match="has no predict_proba"):
        analyze(model, X, response_method="predict_proba")
    with pytest.raises(ValueError, match="response_method must be one of"):
        analyze(model, X, response_method="proba")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"features": ["a", "nope"]},
            r"feature 'nope' is not in the data \(columns: \['a', 'b', 'label'\]\)",
        ),
        ({"categorical": ["colour"]}, "categorical column 'colour' is not in the data"),
        ({"target": "y"}, "target column 'y' is not in the data"),
        ({"grid": 1}, "grid must be >= 2"),
        ({"sample": 1}, "sample must be >= 2"),
        ({"output": "3"}, r"output '3' is not one of the model's outputs \['prediction'\]"),
        ({"output": 1}, "output 1 is out of range"),
    ],
)
def test_bad_arguments_are_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        analyze(model, X, **kwargs)


def test_target_is_dropped_then_unknown():
    report = analyze(lambda d: d["a"] * 1.0, X, target="label")
    assert "label" not in report.ranking()
    with pytest.raises(ValueError, match="feature 'label' is not in the data"):
        analyze(lambda d: d["a"] * 1.0, X, target="label", features=["label"])


def test_a_fitted_model_whose_inputs_are_missing():
    sklearn = pytest.importorskip("sklearn.linear_model")
    fitted = sklearn.LinearRegression().fit(X[["a", "b"]], X["label"])
    with pytest.raises(ValueError, match=r"model's input column\(s\) \['b'\] are not in the data"):
        analyze(fitted, X[["a", "label"]])
    with pytest.raises(ValueError, match="the data has 3 columns; the model was fitted on 2"):
        analyze(fitted, X.to_numpy())


def test_non_numeric_output_is_a_type_error():
    with pytest.raises(TypeError, match=r"output is not numeric \(dtype <U3\).*predict_proba"):
        analyze(lambda d: np.where(d["a"] > 5, "yes", "no!"), X)
    with pytest.raises(TypeError, match="output is not numeric"):
        analyze(lambda d: np.array([object()] * len(d)), X)
    # Labels predicted as text by predict() alone are refused the same way.

    class TextLabels:
        def predict(self, d):
            return np.array(["cat"] * len(d))

    with pytest.raises(TypeError, match="the model's predict output is not numeric"):
        analyze(TextLabels(), X)


def test_output_of_the_wrong_shape_is_a_value_error():
    with pytest.raises(ValueError, match="output has 1 rows for a batch of 20"):
        analyze(lambda d: np.array([1.0]), X)
    with pytest.raises(ValueError, match="output is one value for 20 rows"):
        analyze(lambda d: 1.0, X)
    with pytest.raises(ValueError, match=r"output has shape \(20, 2, 2\)"):
        analyze(lambda d: np.zeros((len(d), 2, 2)), X)


def test_empty_and_unreadable_data():
    with pytest.raises(ValueError, match="the data has no rows"):
        analyze(model, X.iloc[:0])
    with pytest.raises(ValueError, match="the data has no rows"):
        analyze(model, iter([]))
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        analyze(model, object())
    with pytest.raises(ValueError, match="3-D array"):
        analyze(model, np.zeros((4, 2, 2)))


def test_an_all_missing_feature_is_reported_without_a_grid():
    data = X.assign(empty=np.nan)
    report = analyze(lambda d: d["a"] * 1.0 + np.nan_to_num(d["empty"]), data)
    empty = report.feature("empty")
    assert empty.grid == () and empty.missing == len(X) and empty.mean_abs_change == 0
    assert np.isnan(empty.pd_range) and np.isnan(empty.interaction)
    assert "empty" in report.table()
