"""``mlotel sensitivity MODEL DATA``: a pickled model and a data file give the report the API
gives for the same rows."""

from __future__ import annotations

import importlib.util
import json
import pickle

import numpy as np
import pandas as pd
import pytest

from mlotel.cli import main
from mlotel.sensitivity import SensitivityReport, analyze

pytest.importorskip("sklearn")
from sklearn.compose import make_column_transformer  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder  # noqa: E402

HAVE_PYARROW = importlib.util.find_spec("pyarrow") is not None
needs_pyarrow = pytest.mark.skipif(not HAVE_PYARROW, reason="pyarrow (mlotel[parquet]) is not installed")
N = 1500


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    x0, x1 = rng.normal(size=N), rng.normal(size=N)
    city = rng.choice(np.array(["paris", "lyon", "nice"]), N, p=[0.6, 0.3, 0.1]).astype(object)
    y = ((x0 + (city == "nice") * 2 + rng.normal(0, 0.3, N)) > 0.5).astype(int)
    return pd.DataFrame({"x0": x0, "x1": x1, "city": city, "y": y})


@pytest.fixture(scope="module")
def files(tmp_path_factory, frame):
    d = tmp_path_factory.mktemp("sensitivity")
    encode = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore"), ["city"]), remainder="passthrough"
    )
    model = make_pipeline(encode, RandomForestClassifier(n_estimators=40, random_state=0))
    model.fit(frame[["x0", "x1", "city"]], frame["y"])
    with open(d / "model.pkl", "wb") as f:
        pickle.dump(model, f)
    import joblib

    joblib.dump(model, d / "model.joblib")
    frame.to_csv(d / "train.csv", index=False)
    if HAVE_PYARROW:
        frame.to_parquet(d / "train.parquet", row_group_size=400)
    numeric = LinearRegression().fit(frame[["x0", "x1"]].to_numpy(), frame["y"])
    with open(d / "linear.pkl", "wb") as f:
        pickle.dump(numeric, f)
    np.save(d / "train.npy", frame[["x0", "x1"]].to_numpy())
    return d, model


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(["sensitivity", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


@needs_pyarrow
def test_parquet_round_trip_equals_the_api(files, frame, tmp_path, capsys):
    d, model = files
    out = tmp_path / "s.json"
    code, stdout, err = _run(
        capsys, d / "model.pkl", d / "train.parquet", "--target", "y", "--categorical", "city",
        "--sample", 500, "--grid", 6, "--seed", 2, "-o", out, "--chunk-rows", 300,
    )  # fmt: skip
    assert code == 0, err
    assert f"wrote {out}: 3 feature(s), 500 rows" in err
    saved = SensitivityReport.load(out)
    expected = analyze(model, frame.drop(columns="y"), categorical=["city"], sample=500, grid=6, seed=2)
    assert saved.to_dict() == expected.to_dict()  # chunked file sample == in-memory sample
    assert saved.ranking()[0] == "x0" and saved.feature("city").kind == "categorical"
    assert set(saved.feature("city").grid) == {"paris", "lyon", "nice"}
    assert stdout == saved.table() + "\n"


def test_csv_and_joblib_and_json_output(files, frame, capsys):
    d, model = files
    code, stdout, err = _run(
        capsys, d / "model.joblib", d / "train.csv", "--format", "json", "--features", "x0,city"
    )
    assert code == 0, err
    printed = json.loads(stdout)
    assert printed["format"] == "mlotel.sensitivity_report" and [f["name"] for f in printed["features"]] == [
        "x0",
        "city",
    ]
    # The model's feature_names_in_ choose its inputs: the target column of the file is ignored.
    assert printed == analyze(model, frame, features=["x0", "city"]).to_dict()


def test_npy_columns_are_f0_f1(files, capsys):
    d, _ = files
    code, stdout, err = _run(capsys, d / "linear.pkl", d / "train.npy", "--limit", 1)
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0].startswith("sensitivity of LinearRegression (predict: prediction)")
    assert len(lines) == 3 and lines[2].split()[1] in {"f0", "f1"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.pkl", "train.csv"], "missing.pkl: no such file"),
        (["train.csv", "train.csv"], "cannot load the model"),
        (["notamodel.pkl", "train.csv"], "model must have predict_proba() or predict()"),
        (["model.pkl", "train.csv", "--features", "x0,zz"], "feature 'zz' is not in the data"),
        (["model.pkl", "train.csv", "--target", "label"], "target column 'label' is not in the data"),
        (["model.pkl", "train.txt"], "unsupported file type '.txt'"),
        (["model.pkl", "train.csv", "--grid", "1"], "grid must be >= 2"),
    ],
)
def test_errors_exit_2_with_a_message(files, capsys, argv, message):
    d, _ = files
    with open(d / "notamodel.pkl", "wb") as f:
        pickle.dump({"weights": [1, 2, 3]}, f)
    (d / "train.txt").write_text("x0\n1\n")
    code, stdout, err = _run(capsys, *[d / a if i < 2 else a for i, a in enumerate(argv)])
    assert code == 2 and not stdout
    assert err.startswith("mlotel sensitivity: error: ") and message in err


def test_help_warns_that_pickles_run_code(capsys):
    with pytest.raises(SystemExit):
        main(["sensitivity", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "loading it runs code, so only load files you trust" in text
