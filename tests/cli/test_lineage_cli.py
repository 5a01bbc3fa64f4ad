"""``mlotel profile --source/--model/--version/--prediction-id/--served-by`` and the lineage lines
and feedback-loop warning of ``mlotel drift`` (table and JSON, file and fleet current sides)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlotel.cli import main
from mlotel.drift import ReferenceProfile
from mlotel.drift.lineage import ServedBy
from tests.drift.test_lineage import _frame, _serve


@pytest.fixture
def served_csv(tmp_path):
    """A retraining table: 300 rows, every third without a prediction id (fresh data).
    Ids are hex text with leading zeros, which must survive the CSV reader."""
    df = _frame(300, 5)
    df["pred_id"] = [None if i % 3 == 0 else f"{i:016x}" for i in range(300)]
    df.to_csv(tmp_path / "served.csv", index=False)
    df.drop(columns=["pred_id"]).to_csv(tmp_path / "today.csv", index=False)
    return tmp_path


def _run(capsys, *argv):
    code = main([*argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_profile_with_a_prediction_id_column(served_csv, capsys):
    d = served_csv
    code, _, err = _run(
        capsys, "profile", str(d / "served.csv"), "-o", str(d / "ref.json"),
        "--prediction-id", "pred_id", "--model", "fraud", "--version", "3",
    )  # fmt: skip
    assert code == 0, err
    assert "lineage: served predictions: 200 of 300 rows (66.7%) by model 'fraud' version 3" in err
    ref = ReferenceProfile.load(d / "ref.json")
    assert "pred_id" not in ref.features
    assert ref.lineage.served_by == (ServedBy("fraud", "3", 200),) and ref.lineage.method == "prediction_ids"
    # --features selects what is profiled; the id column is still read.
    code, _, err = _run(
        capsys, "profile", str(d / "served.csv"), "-o", str(d / "ref2.json"), "--features", "amount",
        "--prediction-id", "pred_id", "--model", "fraud",
    )  # fmt: skip
    assert code == 0, err
    ref2 = ReferenceProfile.load(d / "ref2.json")
    assert list(ref2.features) == ["amount"] and ref2.lineage.served_rows == 200


def test_profile_served_by_payload_logs(tmp_path, capsys):
    data_dir = tmp_path / "mlotel-data"
    ids = _serve(data_dir, "fraud", "7", [_frame(10, s) for s in range(5)])
    df = _frame(50, 1)
    df["pid"] = ids
    df.to_csv(tmp_path / "t.csv", index=False)
    code, _, err = _run(
        capsys, "profile", str(tmp_path / "t.csv"), "-o", str(tmp_path / "r.json"),
        "--prediction-id", "pid", "--served-by", str(data_dir),
    )  # fmt: skip
    assert code == 0, err
    lineage = ReferenceProfile.load(tmp_path / "r.json").lineage
    assert (lineage.source, lineage.method, lineage.served_by) == (
        "served",
        "payload_logs",
        (ServedBy("fraud", "7", 50),),
    )


@pytest.mark.parametrize(
    "options, message",
    [
        (["--source", "served"], "source='served' needs model="),
        (["--model", "fraud"], "give source='served' too"),
        (["--served-by", "x"], "served_by= matches prediction ids"),
        (["--prediction-id", "nope"], "prediction id column 'nope' is not in the data"),
    ],
)
def test_profile_bad_lineage_options_exit_2(served_csv, capsys, options, message):
    code, _, err = _run(
        capsys, "profile", str(served_csv / "served.csv"), "-o", str(served_csv / "x.json"), *options
    )
    assert code == 2 and message in err
    assert not (served_csv / "x.json").exists()


@pytest.fixture
def reference(served_csv, capsys):
    d = served_csv
    code = main(
        [
            "profile",
            str(d / "served.csv"),
            "-o",
            str(d / "ref.json"),
            "--prediction-id",
            "pred_id",
            "--model",
            "fraud",
        ]
    )
    capsys.readouterr()
    assert code == 0
    return d / "ref.json"


def test_drift_table_names_the_lineage_and_warns_for_the_serving_model(reference, served_csv, capsys):
    today = str(served_csv / "today.csv")
    code, out, _ = _run(capsys, "drift", str(reference), today, "--model", "fraud")
    assert code == 0
    assert "reference lineage: served predictions: 200 of 300 rows (66.7%) by model 'fraud'" in out
    assert (
        "WARNING: feedback loop: 66.7% of the reference rows are predictions model 'fraud' served itself"
        in out
    )
    # Another model compared against it: the lineage, no warning.
    code, out, _ = _run(capsys, "drift", str(reference), today, "--model", "churn")
    assert "reference lineage:" in out and "WARNING" not in out
    # The model not known: a hint.
    code, out, _ = _run(capsys, "drift", str(reference), today)
    assert "pass --model NAME" in out and "WARNING" not in out


def test_drift_json_carries_the_lineage(reference, served_csv, capsys):
    code, out, _ = _run(
        capsys, "drift", str(reference), str(served_csv / "today.csv"), "--format", "json", "--model", "fraud"
    )
    assert code == 0
    lineage = json.loads(out)["lineage"]
    assert lineage["feedback_loop"] is True and lineage["model"] == "fraud" and lineage["current"] is None
    assert lineage["reference"]["served_rows"] == 200 and lineage["reference"]["source"] == "mixed"
    assert any(m.startswith("WARNING: feedback loop") for m in lineage["messages"])


def test_drift_without_lineage_prints_nothing_new(served_csv, capsys):
    d = served_csv
    assert main(["profile", str(d / "today.csv"), "-o", str(d / "plain.json")]) == 0
    capsys.readouterr()
    code, out, _ = _run(capsys, "drift", str(d / "plain.json"), str(d / "today.csv"), "--model", "fraud")
    assert "lineage" not in out
    code, out, _ = _run(capsys, "drift", str(d / "plain.json"), str(d / "today.csv"), "--format", "json")
    assert "lineage" not in json.loads(out)


def test_drift_current_profile_of_served_rows_warns_about_retraining(reference, served_csv, capsys):
    """A retraining set (the current side) made of the model's own predictions."""
    d = served_csv
    assert main(["profile", str(d / "today.csv"), "-o", str(d / "train.json"), "--source", "training"]) == 0
    capsys.readouterr()
    code, out, _ = _run(capsys, "drift", str(d / "train.json"), str(reference), "--model", "fraud")
    assert "reference lineage: training data, no served predictions (declared)" in out
    assert "66.7% of the current rows are predictions model 'fraud' served itself" in out
    assert "retraining it on this data would learn its own bias" in out


def test_fleet_drift_knows_the_model_from_the_telemetry(tmp_path, capsys):
    """Fleet drift: the model compared comes from the telemetry, so no --model is needed."""
    data_dir = tmp_path / "fleet"
    _serve(data_dir, "fraud", "3", [_frame(200, s) for s in range(5)])
    train = _frame(1000, 9)
    train["pid"] = np.where(np.arange(1000) % 2 == 0, "p", None)
    pd.DataFrame(train).to_csv(tmp_path / "t.csv", index=False)
    assert (
        main(
            [
                "profile",
                str(tmp_path / "t.csv"),
                "-o",
                str(tmp_path / "r.json"),
                "--prediction-id",
                "pid",
                "--model",
                "fraud",
            ]
        )
        == 0
    )
    capsys.readouterr()
    code, out, err = _run(capsys, "drift", str(tmp_path / "r.json"), str(data_dir))
    assert "fleet: model 'fraud'" in err
    assert (
        "WARNING: feedback loop: 50.0% of the reference rows are predictions model 'fraud' served itself"
        in out
    )
