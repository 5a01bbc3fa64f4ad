"""read_output: values, labels, class scores, several outputs, bounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlotel.data import UnreadableInput, read_output

N, C = False, True  # numeric, categorical


def test_float_values_are_one_numeric_prediction(check):
    y = np.array([0.5, np.nan, 2.0])
    frame = read_output(y)
    assert check(frame) == {"prediction": (N, [0.5, None, 2.0])}
    assert np.shares_memory(frame.columns[0].values, y)
    assert check(read_output(y.reshape(-1, 1).astype(np.float32))) == {"prediction": (N, [0.5, None, 2.0])}
    assert check(read_output([0.1, 0.2])) == {"prediction": (N, [0.1, 0.2])}


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        (np.array([1, 0, 2]), [1, 0, 2]),
        (np.array([True, False, True]), [True, False, True]),
        (np.array(["cat", "dog", "cat"]), ["cat", "dog", "cat"]),
        (["cat", None, "dog"], ["cat", None, "dog"]),
        ([1, 0, 1], [1, 0, 1]),
        (np.array([[1], [0], [1]], dtype=np.uint8), [1, 0, 1]),
    ],
)
def test_labels_are_one_categorical_prediction(check, y, expected):
    frame = read_output(y)
    assert check(frame) == {"prediction": (C, expected)}


def test_object_outputs(check):
    assert check(read_output(np.array([0.5, None], dtype=object))) == {"prediction": (N, [0.5, None])}
    assert check(read_output(np.array([1, None], dtype=object))) == {"prediction": (C, [1, None])}


def test_scalars_are_one_row(check):
    assert check(read_output(0.75)) == {"prediction": (N, [0.75])}
    assert check(read_output(3)) == {"prediction": (C, [3])}
    assert check(read_output("spam")) == {"prediction": (C, ["spam"])}
    assert check(read_output(np.float32(0.5))) == {"prediction": (N, [0.5])}
    assert check(read_output(True)) == {"prediction": (C, [True])}


def test_probabilities_one_column_per_class(check):
    proba = np.array([[0.2, 0.8], [0.6, 0.4]])
    assert check(read_output(proba)) == {"0": (N, [0.2, 0.6]), "1": (N, [0.8, 0.4])}
    assert check(read_output(proba, class_names=["ham", "spam"])) == {
        "ham": (N, [0.2, 0.6]),
        "spam": (N, [0.8, 0.4]),
    }
    with pytest.raises(UnreadableInput, match="class names"):
        read_output(proba, class_names=["a", "b", "c"])


def test_many_classes_keep_max_proba_and_argmax(check):
    rng = np.random.default_rng(0)
    scores = rng.random((50, 40))
    frame = read_output(scores, max_classes=32)
    assert frame.dropped_columns == 40
    got = check(frame)
    assert got["max_proba"] == (N, scores.max(axis=1).tolist())
    assert got["argmax"] == (C, scores.argmax(axis=1).tolist())
    names = [f"c{i}" for i in range(40)]
    frame = read_output(scores, class_names=names, max_classes=32)
    assert check(frame)["argmax"] == (C, [names[i] for i in scores.argmax(axis=1)])


def test_many_integer_columns_keep_the_first(check):
    labels = np.zeros((3, 40), dtype=int)
    frame = read_output(labels, max_classes=32)
    assert len(frame.columns) == 32 and frame.dropped_columns == 8
    assert all(column.categorical for column in frame.columns)


def test_tuple_of_outputs(check):
    labels = np.array([1, 0])
    proba = np.array([[0.3, 0.7], [0.9, 0.1]])
    frame = read_output((labels, proba), class_names=["no", "yes"])
    assert check(frame) == {"0": (C, [1, 0]), "1.no": (N, [0.3, 0.9]), "1.yes": (N, [0.7, 0.1])}


def test_dict_of_outputs(check):
    assert check(read_output({"label": "cat", "score": 0.9, "debug": None})) == {
        "label": (C, ["cat"]),
        "score": (N, [0.9]),
    }
    frame = read_output({"y": np.array([1.0, 2.0]), "version": "v3", "bad": {1, 2}})
    assert check(frame) == {"y": (N, [1.0, 2.0])}
    assert frame.dropped_columns == 2  # "version" has 1 row, "bad" is unreadable


def test_several_outputs_are_bounded(check):
    frame = read_output(tuple(np.array([float(i)]) for i in range(10)), max_classes=4)
    assert list(check(frame)) == ["0", "1", "2", "3"]
    assert frame.dropped_columns == 6


def test_list_of_dicts_like_hugging_face_pipelines(check):
    out = [{"label": "POSITIVE", "score": 0.98}, {"label": "NEGATIVE", "score": 0.7}]
    assert check(read_output(out)) == {"label": (C, ["POSITIVE", "NEGATIVE"]), "score": (N, [0.98, 0.7])}


def test_pandas_outputs(check):
    assert check(read_output(pd.Series([1.5, None]))) == {"prediction": (N, [1.5, None])}
    assert check(read_output(pd.Series(pd.array([1, None], dtype="Int64")))) == {"prediction": (C, [1, None])}
    assert check(read_output(pd.DataFrame({"p": [0.1], "label": ["a"]}))) == {
        "p": (N, [0.1]),
        "label": (C, ["a"]),
    }
    assert check(read_output(pd.DataFrame([[0.1, 0.9]]))) == {"0": (N, [0.1]), "1": (N, [0.9])}
    assert check(read_output(pd.DataFrame([[0.1]]))) == {"prediction": (N, [0.1])}


def test_none_and_empty_outputs_give_empty_frames():
    for empty in (None, (), {}, []):
        frame = read_output(empty)
        assert frame.n_rows == 0 and frame.columns == ()


def test_unreadable_outputs():
    gen = (i for i in range(2))
    for obj in (gen, np.zeros((2, 2, 2)), object(), {1, 2}):
        with pytest.raises(UnreadableInput):
            read_output(obj)
    assert next(gen) == 0


def test_array_protocol_output(check):
    class Logits:
        def __array__(self, dtype=None, copy=None):
            return np.array([[0.1, 0.9]])

    assert check(read_output(Logits())) == {"0": (N, [0.1]), "1": (N, [0.9])}
