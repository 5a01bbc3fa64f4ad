"""The demo's parts that need no traffic: options, the data folder, the request generator."""

from __future__ import annotations

import numpy as np
import pytest

from mlotel.cli import main
from mlotel.demo import _model, default_export_interval
from mlotel.demo._run import _move_earlier_runs


@pytest.mark.parametrize(
    "argv", [["--duration", "0"], ["--duration", "x"], ["--threads", "0"], ["--rate", "-1"]]
)
def test_bad_options_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *argv])
    assert exit_info.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_export_interval_gives_short_runs_several_windows():
    assert default_export_interval(30) == 2.0
    assert default_export_interval(3) == 0.5
    assert default_export_interval(15) == 1.0
    assert default_export_interval(3600) == 2.0


def test_earlier_runs_are_moved_aside_never_deleted(tmp_path):
    assert _move_earlier_runs(tmp_path / "absent") is None
    assert _move_earlier_runs(tmp_path) is None  # empty
    files = {"traces.jsonl": "t", "metrics.1.jsonl": "m", "report.html": "r", "reference.json": "{}"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "notes.txt").write_text("mine")
    moved = _move_earlier_runs(tmp_path)
    assert moved.parent == tmp_path and moved.name.startswith("earlier-")
    assert {p.name: p.read_text() for p in moved.iterdir()} == files
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["notes.txt"]
    (tmp_path / "logs.jsonl").write_text("l")
    again = _move_earlier_runs(tmp_path)  # same second: a distinct folder
    assert again != moved and (again / "logs.jsonl").read_text() == "l"


def test_requests_drift_only_when_told():
    pool = np.tile(np.arange(1.0, 7.0), (50, 1))  # every row: 1, 2, ..., 6
    maker = _model.RequestMaker(pool, seed=1)
    shifted = _model.FEATURES.index(_model.SHIFTED_FEATURE)
    before = [r for _ in range(300) for r in maker.rows(drifted=False, malformed=False)]
    after = [r for _ in range(300) for r in maker.rows(drifted=True, malformed=False)]
    ratio = np.mean([r[_model.SHIFTED_FEATURE] for r in after]) / np.mean(
        [r[_model.SHIFTED_FEATURE] for r in before]
    )
    assert ratio == pytest.approx(_model.SHIFT_FACTOR, rel=0.01)
    other = _model.FEATURES[(shifted + 1) % len(_model.FEATURES)]
    assert np.mean([r[other] for r in after]) == pytest.approx(np.mean([r[other] for r in before]), rel=0.01)
    assert all(r[_model.CATEGORICAL] in _model.CLINICS for r in before)
    new_share = np.mean([r[_model.CATEGORICAL] == _model.NEW_CLINIC for r in after])
    assert new_share == pytest.approx(_model.NEW_CLINIC_SHARE, abs=0.05)


def test_drift_decouples_two_features_without_moving_either():
    rng = np.random.default_rng(0)
    radius = rng.normal(15, 3, 400)
    pool = np.column_stack([radius, *(rng.normal(10, 1, 400) for _ in range(len(_model.FEATURES) - 1))])
    a, b = _model.FEATURES.index(_model.DECOUPLED_WITH), _model.FEATURES.index(_model.DECOUPLED_FEATURE)
    pool[:, a] = radius
    pool[:, b] = radius**2 * 3  # area goes with radius, as in the real data
    maker = _model.RequestMaker(pool, seed=2)
    before = [r for _ in range(600) for r in maker.rows(drifted=False, malformed=False)]
    after = [r for _ in range(600) for r in maker.rows(drifted=True, malformed=False)]

    def pair(rows):
        return np.array(
            [[r[_model.DECOUPLED_WITH] for r in rows], [r[_model.DECOUPLED_FEATURE] for r in rows]]
        )

    x, y = pair(before), pair(after)
    assert np.corrcoef(x)[0, 1] > 0.9 and abs(np.corrcoef(y)[0, 1]) < 0.2
    # Each feature alone keeps its distribution (quartiles within sampling error).
    for i in (0, 1):
        np.testing.assert_allclose(
            np.percentile(y[i], [25, 50, 75]), np.percentile(x[i], [25, 50, 75]), rtol=0.1
        )


def test_requests_come_with_the_true_labels_of_their_rows():
    pool = np.tile(2.0 ** np.arange(40)[:, None], (1, len(_model.FEATURES)))  # row i: every value 2**i
    labels = (np.arange(40) % 3 == 0).astype(int)
    maker = _model.RequestMaker(pool, seed=4, labels=labels)
    for _ in range(200):
        rows, got = maker.request(drifted=False, malformed=False)
        drawn = np.rint(np.log2([r[_model.FEATURES[0]] for r in rows])).astype(int)  # undo the 2% jitter
        np.testing.assert_array_equal(got, labels[drawn])


def test_the_reference_holds_labels_scores_calibration_and_a_multivariate_model():
    trained = _model.train(0)
    profile = _model.build_profile(trained)
    assert profile.target.kind == "categorical" and profile.prediction.kind == "numeric"
    assert profile.performance is not None and profile.multivariate is not None
    # Out-of-fold scores: not the fitted model's own scores on its training rows.
    X = np.column_stack([trained.train[f] for f in _model.FEATURES])
    assert not np.allclose(trained.scores, trained.model.predict_proba(X)[:, 1])


def test_a_malformed_request_is_rejected_with_value_error():
    maker = _model.RequestMaker(np.ones((5, len(_model.FEATURES))), seed=0)
    rows = maker.rows(drifted=False, malformed=True)
    with pytest.raises(ValueError, match="malformed request: row \\d+ has no value for"):
        _model.to_matrix(rows)
    good = maker.rows(drifted=False, malformed=False)
    assert _model.to_matrix(good).shape == (len(good), len(_model.FEATURES))
