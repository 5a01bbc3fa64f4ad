"""``mlotel.sensitivity.analyze`` on models whose answer is known: exact functions, linear
models, and real scikit-learn models on data shipped with scikit-learn."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mlotel.sensitivity import _analyze, analyze

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris  # noqa: E402
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

N = 3000


@pytest.fixture(scope="module")
def synthetic() -> tuple[pd.DataFrame, pd.Series]:
    """y = 2 x0 + 3 x1 x2 (+ noise): x0 additive, x1 and x2 only through their interaction,
    x3 unused."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(N, 4)), columns=["x0", "x1", "x2", "x3"])
    y = 2 * X.x0 + 3 * X.x1 * X.x2 + rng.normal(0, 0.1, N)
    return X, y


def truth(X: pd.DataFrame) -> np.ndarray:
    return (2 * X["x0"] + 3 * X["x1"] * X["x2"]).to_numpy()


def test_exact_function_gives_the_known_answer(synthetic):
    X, _ = synthetic
    report = analyze(truth, X, sample=800, grid=12)
    assert report.task == "regression" and report.response_method == "call" and report.model == "truth"
    assert report.n_rows == N and report.n_sample == 800
    assert set(report.ranking()[:3]) == {"x0", "x1", "x2"} and report.ranking()[3] == "x3"
    x0, x1, x2, x3 = (report.feature(f) for f in ("x0", "x1", "x2", "x3"))
    # x3 does not move the predictions at all; its interaction share is undefined.
    assert x3.mean_abs_change == 0 and x3.p95_abs_change == 0 and x3.pd_range == 0
    assert np.isnan(x3.interaction)
    # x0 is additive: every row's curve is parallel to the partial dependence ...
    assert x0.interaction < 1e-12
    # ... whose slope is the coefficient, 2.
    grid, pd_ = np.asarray(x0.grid), np.asarray(x0.partial_dependence[0])
    np.testing.assert_allclose(np.diff(pd_) / np.diff(grid), 2.0, rtol=1e-9)
    # x1 and x2 act only through x1 * x2: flat mean curve, all the effect in the interaction.
    for f in (x1, x2):
        assert f.interaction > 0.9
        assert f.pd_range < 0.25 * x0.pd_range
        assert f.mean_abs_change > 0.5 * x0.mean_abs_change
    assert x0.label_change_rate is None  # a regression has no labels


def test_perturbation_is_the_mean_change_under_a_permutation(synthetic):
    """For y = 2 x0 + ..., permuting x0 moves each row by exactly 2 |x0[perm] - x0|."""
    X, _ = synthetic
    report = analyze(lambda d: 2 * d["x0"].to_numpy(), X[["x0"]], sample=500, seed=3)
    x0 = report.feature("x0").mean_abs_change
    # The sample and permutation are seeded: redo them as analyze does.
    sample_rng, perm_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(3).spawn(2))
    keys = sample_rng.random(N)
    rows = np.sort(np.argsort(keys)[:500])
    v = X["x0"].to_numpy()[rows]
    perm = perm_rng.permutation(500)
    assert x0 == pytest.approx(np.mean(2 * np.abs(v[perm] - v)), rel=1e-12)


def test_regressor_finds_the_three_features_and_the_interaction(synthetic):
    X, y = synthetic
    model = GradientBoostingRegressor(n_estimators=150, max_depth=4, random_state=0).fit(X, y)
    report = analyze(model, X, sample=600)
    assert report.response_method == "predict" and report.outputs == ("prediction",)
    ranked = report.ranking()
    assert set(ranked[:3]) == {"x0", "x1", "x2"} and ranked[3] == "x3"
    x3 = report.feature("x3")
    assert x3.mean_abs_change < 0.1 * min(report.feature(f).mean_abs_change for f in ("x0", "x1", "x2"))
    assert report.feature("x0").interaction < 0.3
    assert report.feature("x1").interaction > 0.7 and report.feature("x2").interaction > 0.7


def test_linear_model_on_diabetes_partial_dependence_is_its_coefficients():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = LinearRegression().fit(X, y)
    report = analyze(model, X)
    assert report.n_rows == len(X) == report.n_sample  # fewer rows than the sample: all of them
    for name, coef in zip(X.columns, model.coef_):
        f = report.feature(name)
        grid = np.asarray(f.grid, dtype=float)
        np.testing.assert_allclose(np.diff(f.partial_dependence[0]) / np.diff(grid), coef, rtol=1e-6)
        assert f.interaction < 1e-9  # a linear model has no interactions
        # The ICE band collapses on the partial dependence.
        np.testing.assert_allclose(f.band_low[0], f.partial_dependence[0], atol=1e-9)
        np.testing.assert_allclose(f.band_high[0], f.partial_dependence[0], atol=1e-9)
    # Sorted by mean |Δ|, largest first.
    changes = [f.mean_abs_change for f in report.features]
    assert changes == sorted(changes, reverse=True)


def test_binary_classifier_on_breast_cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    report = analyze(model, X, grid=8)
    assert report.task == "classification" and report.response_method == "predict_proba"
    assert report.outputs == ("1",)  # the positive class only
    coef = dict(zip(X.columns, model[-1].coef_[0]))
    for f in report.features:
        assert len(f.grid) == 8 and len(f.partial_dependence) == 1
        steps = np.diff(f.partial_dependence[0])
        # P(class 1) moves with the sign of the feature's coefficient.
        assert np.all(steps * np.sign(coef[f.name]) >= -1e-12), f.name
        assert 0 <= f.label_change_rate <= 1 and f.p95_abs_change >= 0
        assert 0 <= f.mean_abs_change <= 1
    top = report.features[0]
    assert top.mean_abs_change > 0.01 and top.label_change_rate > 0


def test_random_forest_on_breast_cancer_ranks_the_size_features_first():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = RandomForestClassifier(n_estimators=60, random_state=0).fit(X, y)
    report = analyze(model, X)
    top5 = report.ranking()[:5]
    assert sum(name.startswith("worst") for name in top5) >= 3, top5
    # Each row's change is |Δ P(class 1)|, so it lies in [0, 1] and p95 >= mean.
    for f in report.features:
        assert 0 <= f.mean_abs_change <= f.p95_abs_change + 1e-12 <= 1 + 1e-12


def test_multiclass_classifier_curves_are_probabilities():
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
    report = analyze(model, X)
    assert report.outputs == ("0", "1", "2")
    assert set(report.ranking()[:2]) == {"petal length (cm)", "petal width (cm)"}
    for f in report.features:
        curves = np.asarray(f.partial_dependence)
        assert curves.shape == (3, len(f.grid))
        np.testing.assert_allclose(curves.sum(axis=0), 1.0)  # mean probabilities still sum to 1
        # The band: 10th and 90th percentile of the rows' deviations (not always around the mean).
        assert np.all(np.asarray(f.band_low) <= np.asarray(f.band_high))
    # One class only.
    one = analyze(model, X, output=2)
    assert one.outputs == ("2",) and all(len(f.partial_dependence) == 1 for f in one.features)
    assert analyze(model, X, output="2").to_dict() == one.to_dict()


def test_categorical_feature_is_swept_over_its_top_categories():
    rng = np.random.default_rng(1)
    n = 2000
    color = rng.choice(np.array(["red", "green", "blue", "grey"]), n, p=[0.5, 0.3, 0.15, 0.05])
    X = pd.DataFrame({"x": rng.normal(size=n), "color": color})
    effect = {"red": 0.0, "green": 1.0, "blue": 5.0, "grey": -1.0}

    def model(d: pd.DataFrame) -> np.ndarray:
        return d["x"].to_numpy() + d["color"].map(effect).to_numpy()

    report = analyze(model, X, grid=3)
    color_f = report.feature("color")
    assert color_f.kind == "categorical"
    assert list(color_f.grid) == ["red", "green", "blue"]  # the 3 most frequent, by frequency
    pd_ = np.asarray(color_f.partial_dependence[0])
    np.testing.assert_allclose(pd_ - pd_[0], [0.0, 1.0, 5.0])
    assert color_f.interaction < 1e-12
    # A numeric column named as categorical is swept over its most frequent values.
    X["k"] = rng.integers(0, 3, n)
    report = analyze(lambda d: d["k"].to_numpy() * 2.0, X, categorical=["k"], features=["k"])
    assert report.feature("k").kind == "categorical" and sorted(report.feature("k").grid) == [0, 1, 2]


def test_integer_feature_grid_holds_its_own_values():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"children": rng.integers(0, 40, 3000), "x": rng.normal(size=3000)})
    report = analyze(lambda d: d["children"] * 1.0 + d["x"], X, grid=10)
    grid = report.feature("children").grid
    assert len(grid) == 10 and all(float(g).is_integer() for g in grid) and list(grid) == sorted(grid)
    few = analyze(lambda d: d["children"] * 1.0, X[["children"]].clip(upper=3), grid=10)
    assert list(few.feature("children").grid) == [0, 1, 2, 3]  # every distinct value


def test_missing_values_are_skipped_by_the_grid_and_kept_in_other_columns():
    rng = np.random.default_rng(4)
    n = 400
    X = pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"])
    X.loc[rng.random(n) < 0.1, "a"] = np.nan
    X.loc[rng.random(n) < 0.2, "b"] = np.nan
    batches: list[pd.DataFrame] = []

    def model(d: pd.DataFrame) -> np.ndarray:
        batches.append(d)
        return np.nan_to_num(d["a"].to_numpy()) + 2 * np.nan_to_num(d["b"].to_numpy())

    report = analyze(model, X, sample=n)
    a = report.feature("a")
    assert a.missing == int(X["a"].isna().sum()) and all(np.isfinite(a.grid))
    # Sweeping "a": every row of "a" gets a grid value, "b" keeps its NaNs row by row.
    sweep_a = [d for d in batches[1:] if len(d) > n and d["a"].notna().all()]
    assert sweep_a
    b_nan = X["b"].isna().to_numpy()
    for d in sweep_a:
        np.testing.assert_array_equal(d["b"].isna().to_numpy(), np.tile(b_nan, len(d) // n))


def test_the_model_is_called_on_whole_batches_bounded_in_size(synthetic, monkeypatch):
    X, _ = synthetic
    sizes: list[int] = []

    def model(d: pd.DataFrame) -> np.ndarray:
        sizes.append(len(d))
        return truth(d)

    full = analyze(model, X, sample=500, grid=10)
    # One baseline call, then per feature one permutation call and one sweep call of all
    # 10 grid points stacked (5,000 rows).
    assert sizes == [500] + [500, 5000] * 4
    sizes.clear()
    monkeypatch.setattr(_analyze, "MAX_BATCH_ROWS", 1200)  # two grid points per call
    chunked = analyze(model, X, sample=500, grid=10)
    assert max(sizes) == 1000 and len(sizes) == 1 + 4 * (1 + 5)
    assert chunked.to_dict() == full.to_dict()


def test_same_seed_same_report_and_chunks_equal_one_table(synthetic):
    X, _ = synthetic
    one = analyze(truth, X, sample=300, seed=7)
    assert analyze(truth, X, sample=300, seed=7).to_dict() == one.to_dict()
    chunks = iter([X.iloc[i : i + 700] for i in range(0, N, 700)])
    assert analyze(truth, chunks, sample=300, seed=7).to_dict() == one.to_dict()
    assert analyze(truth, X, sample=300, seed=8).to_dict() != one.to_dict()


def test_numpy_data_takes_the_models_names_or_f0_f1(synthetic):
    X, y = synthetic
    named = LinearRegression().fit(X, y)
    unnamed = LinearRegression().fit(X.to_numpy(), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "X does not have valid feature names" warnings
        by_names = analyze(named, X.to_numpy())
        positional = analyze(unnamed, X)  # a DataFrame goes to an array-fitted model as an array
        plain = analyze(unnamed, X.to_numpy())
    assert set(by_names.ranking()) == {"x0", "x1", "x2", "x3"}
    assert set(plain.ranking()) == {"f0", "f1", "f2", "f3"}
    assert positional.feature("x0").mean_abs_change == pytest.approx(plain.feature("f0").mean_abs_change)


def test_extra_columns_and_target_are_not_model_inputs(synthetic):
    X, y = synthetic
    model = LinearRegression().fit(X, y)
    data = X.assign(y=y, row_id=np.arange(N))
    report = analyze(model, data)  # the model's feature_names_in_ choose the inputs
    assert set(report.ranking()) == {"x0", "x1", "x2", "x3"}
    plain = analyze(truth, data, target="y", features=["x0", "x3"])
    assert set(plain.ranking()) == {"x0", "x3"}


def test_mapping_and_records_data():
    cols = {"a": np.arange(50.0), "b": np.linspace(0, 1, 50)}
    report = analyze(lambda d: d["a"] + 10 * d["b"], cols)
    assert set(report.ranking()) == {"a", "b"}
    records = [{"a": float(i), "b": float(cols["b"][i])} for i in range(50)]  # read by mlotel.data
    assert analyze(lambda d: d["a"] + 10 * d["b"], records).to_dict() == report.to_dict()
