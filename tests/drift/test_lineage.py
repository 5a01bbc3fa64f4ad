"""Reference lineage (feedback-loop guard): declared, detected from prediction ids and from real
payload logs; JSON round trip, merges (profiles, builder partials), and bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mlotel
from mlotel import _runtime
from mlotel.drift import ReferenceBuilder, ReferenceProfile, build_reference
from mlotel.drift.lineage import (
    Lineage,
    ServedBy,
    feedback_report,
    hash_ids,
    read_log_index,
    served_ids,
)


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"amount": rng.lognormal(3, 1, n), "country": rng.choice(["FR", "US", "DE"], n)})


# -- declared -------------------------------------------------------------------------------


def test_declared_served_round_trips_json_and_loads_old_profiles(tmp_path):
    ref = build_reference(_frame(), source="served", model="fraud", version="3")
    lineage = ref.lineage
    assert (lineage.source, lineage.method, lineage.served_rows, lineage.n_rows) == (
        "served",
        "declared",
        200,
        200,
    )
    assert (lineage.model, lineage.versions, lineage.share) == ("fraud", ("3",), 1.0)
    assert lineage.served_ratio("fraud") == 1.0 and lineage.served_ratio("churn") == 0.0
    assert "served predictions: 200 of 200 rows (100.0%) by model 'fraud' version 3" in repr(ref)

    ref.save(tmp_path / "ref.json")
    saved = json.loads((tmp_path / "ref.json").read_text())
    assert saved["lineage"]["source"] == "served" and saved["lineage"]["model"] == "fraud"
    assert saved["lineage"]["served_by"] == [{"model": "fraud", "version": "3", "rows": 200}]
    assert ReferenceProfile.load(tmp_path / "ref.json") == ref

    # A profile written without lineage (older mlotel) loads with none; so does a plain build.
    del saved["lineage"]
    old = ReferenceProfile.from_dict(saved)
    assert old.lineage is None and build_reference(_frame()).lineage is None
    assert "lineage" not in build_reference(_frame()).to_dict()


def test_declared_training_has_no_served_rows():
    lineage = build_reference(_frame(), source="training").lineage
    assert (lineage.source, lineage.served_rows, lineage.served_by, lineage.model) == (
        "training",
        0,
        (),
        None,
    )


def test_profile_merge_adds_lineage_counts_and_counts_no_lineage_as_training():
    served = build_reference(_frame(100, 1), source="served", model="fraud", version="3")
    detected = build_reference(
        _frame(50, 2),
        prediction_ids=[f"p{i}" if i % 2 else None for i in range(50)],
        model="fraud",
        version="4",
    )
    plain = build_reference(_frame(30, 3))
    merged = served.merge(detected).merge(plain)
    lineage = merged.lineage
    assert (lineage.n_rows, lineage.served_rows, lineage.source) == (180, 125, "mixed")
    assert lineage.method == "declared+prediction_ids"
    assert set(lineage.served_by) == {ServedBy("fraud", "3", 100), ServedBy("fraud", "4", 25)}
    assert lineage.versions == ("3", "4")
    assert ReferenceProfile.from_json(merged.to_json()) == merged
    assert plain.merge(build_reference(_frame(10, 4))).lineage is None


# -- detected from prediction ids ------------------------------------------------------------


def test_prediction_id_column_counts_non_null_ids_and_is_not_profiled():
    df = _frame(8)
    df["pred_id"] = ["a1", None, "a3", np.nan, "", "a6", "a7", None]
    ref = build_reference(df, prediction_id="pred_id", model="fraud")
    assert "pred_id" not in ref.features and set(ref.features) == {"amount", "country"}
    lineage = ref.lineage
    assert (lineage.served_rows, lineage.n_rows, lineage.source, lineage.method) == (
        4,
        8,
        "mixed",
        "prediction_ids",
    )
    assert lineage.served_by == (ServedBy("fraud", None, 4),)
    assert lineage.share == 0.5


@pytest.mark.parametrize(
    "ids, served",
    [
        (pd.Series([101, None, 103], dtype="Int64"), [True, False, True]),
        (np.array([1.0, np.nan, 3.0]), [True, False, True]),  # int ids read as floats with a NaN
        (["x", None, "z"], [True, False, True]),
        (pd.Series(["x", None, "x"], dtype="category"), [True, False, True]),
        (np.array(["x", "", "y"]), [True, False, True]),
        (np.arange(3), [True, True, True]),
    ],
)
def test_served_ids_reads_every_column_kind(ids, served):
    mask, hashes = served_ids(ids)
    assert mask.tolist() == served and hashes.shape == (sum(served),)


def test_ids_hash_alike_whatever_their_type_or_width():
    _, as_floats = served_ids(np.array([12345.0, np.nan]))
    _, as_ints = served_ids(np.array([12345]))
    _, as_text = served_ids(["12345"])
    assert as_floats.tolist() == as_ints.tolist() == as_text.tolist()
    narrow, wide = np.array(["ab"]), np.array(["ab", "a much longer id than that"])
    assert hash_ids(narrow)[0] == hash_ids(wide)[0] and hash_ids(wide)[0] != hash_ids(wide)[1]
    many = hash_ids(np.array([f"{i:016x}" for i in range(100_000)]))
    assert np.unique(many).size == 100_000


def test_all_rows_served_and_none_served():
    df = _frame(5)
    assert build_reference(df, prediction_ids=["a", "b", "c", "d", "e"]).lineage.source == "served"
    none = build_reference(df, prediction_ids=[None] * 5).lineage
    assert (none.source, none.served_rows, none.model) == ("training", 0, None)


def test_builder_partials_merge_lineage_exactly():
    df = _frame(300)
    ids = np.array([f"id{i}" if i % 3 else None for i in range(300)], dtype=object)
    df["pid"] = ids
    options = ReferenceBuilder(lineage={"prediction_id": "pid", "model": "fraud", "version": "2"}).options()
    parts = []
    for start in range(0, 300, 70):
        builder = ReferenceBuilder(**options)
        builder.update(df.iloc[start : start + 70])
        parts.append(builder.to_bytes())
    merged = ReferenceBuilder.from_bytes(parts[0])
    for part in parts[1:]:
        merged.merge(ReferenceBuilder.from_bytes(part))
    whole = ReferenceBuilder(**options)
    whole.update(df)
    a, b = merged.build().lineage, whole.build().lineage
    assert (
        (a.served_rows, a.n_rows, a.served_by)
        == (b.served_rows, b.n_rows, b.served_by)
        == (
            200,
            300,
            (ServedBy("fraud", "2", 200),),
        )
    )


# -- detected from real payload logs ---------------------------------------------------------


def _serve(data_dir, model, version, batches, *, per_row_ids=False):
    """Serve ``batches`` through a real monitored model writing the embedded OTLP JSON files;
    returns the prediction id each row came from."""
    mlotel.configure(data_dir=str(data_dir))
    if per_row_ids:

        @mlotel.monitor(model=model, version=version, log_predictions=True, id_arg="ids")
        def predict(X, ids=None):
            return (X["amount"] > 20).astype(int).to_numpy()

    else:

        @mlotel.monitor(model=model, version=version, log_payloads=1.0)
        def predict(X):
            return (X["amount"] > 20).astype(int).to_numpy()

    row_ids = []
    for i, batch in enumerate(batches):
        if per_row_ids:
            ids = [f"{model}-{version}-{i}-{j}" for j in range(len(batch))]
            predict(batch, ids=ids)
            row_ids += ids
        else:
            with mlotel.prediction_context() as p:
                predict(batch)
            row_ids += [p.prediction_id] * len(batch)
    mlotel.shutdown()
    _runtime._reset_for_tests()
    return row_ids


def test_served_by_payload_logs_names_model_and_version(tmp_path):
    data_dir = tmp_path / "mlotel-data"
    v2 = _serve(data_dir, "fraud", "2", [_frame(10, s) for s in range(3)])  # 30 rows, one id per call
    v3 = _serve(data_dir, "fraud", "3", [_frame(5, 10 + s) for s in range(4)], per_row_ids=True)  # 20 rows
    assert (data_dir / "logs.jsonl").exists()

    index = read_log_index(data_dir)
    assert index.n_ids == 3 + 4 + 20 and not index.capped  # call ids of both models, and the per-row ids

    # A retraining table: rows from both versions, and 25 fresh rows that were never served.
    fresh = [None] * 25
    table = pd.concat([_frame(30, 1), _frame(20, 2), _frame(25, 3)], ignore_index=True)
    table["prediction_id"] = v2 + v3 + fresh
    ref = build_reference(table, prediction_id="prediction_id", served_by=data_dir)
    lineage = ref.lineage
    assert (lineage.method, lineage.source, lineage.served_rows, lineage.n_rows) == (
        "payload_logs",
        "mixed",
        50,
        75,
    )
    assert lineage.served_by == (ServedBy("fraud", "2", 30), ServedBy("fraud", "3", 20))
    assert lineage.log_ids == 27 and not lineage.log_ids_capped
    assert lineage.served_ratio("fraud") == pytest.approx(50 / 75)
    assert ReferenceProfile.from_json(ref.to_json()).lineage == lineage

    # Ids not in the logs are still served rows, by the declared model if given.
    table["prediction_id"] = v2 + ["unknown"] * 20 + fresh
    other = build_reference(table, prediction_id="prediction_id", served_by=[data_dir], model="churn").lineage
    assert other.served_by == (ServedBy("fraud", "2", 30), ServedBy("churn", None, 20))


def test_log_ids_are_capped_and_say_so(tmp_path):
    data_dir = tmp_path / "d"
    ids = _serve(data_dir, "fraud", "1", [_frame(4, s) for s in range(6)], per_row_ids=True)
    index = read_log_index(data_dir, max_ids=10)
    assert index.n_ids == 10 and index.capped
    lineage = build_reference(_frame(24), prediction_ids=ids, served_by=data_dir, max_log_ids=10).lineage
    assert lineage.log_ids_capped and lineage.served_rows == 24
    assert sum(s.rows for s in lineage.served_by if s.model == "fraud") < 24  # only ids read were matched
    assert "log ids capped" in lineage.describe()


def test_outcome_records_are_not_predictions(tmp_path):
    mlotel.configure(data_dir=str(tmp_path / "d"))
    mlotel.record_outcome("abc", actual=1, model="fraud")
    mlotel.shutdown()
    assert read_log_index(tmp_path / "d").n_ids == 0


# -- reporting ------------------------------------------------------------------------------


def test_feedback_report_warns_only_for_the_serving_model():
    lineage = Lineage("mixed", 100, 40, "declared", (ServedBy("fraud", "3", 40),))
    report = feedback_report(lineage, None, "fraud")
    assert report.feedback_loop and "feedback loop: 40.0% of the reference rows" in report.lines[1]
    other = feedback_report(lineage, None, "churn")
    assert not other.feedback_loop and len(other.lines) == 1
    unknown = feedback_report(lineage, None, None)
    assert not unknown.feedback_loop and "--model" in unknown.lines[-1]
    assert feedback_report(None, None, "fraud") is None


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"source": "production"}, "source must be one of ['training', 'served', 'mixed']"),
        ({"source": "served"}, "source='served' needs model="),
        ({"source": "mixed"}, "source='mixed' needs the prediction ids"),
        ({"model": "fraud"}, "give source='served' too"),
        ({"source": "served", "version": "3"}, "source='served' needs model="),
        ({"served_by": "logs/"}, "served_by= matches prediction ids"),
        ({"source": "training", "prediction_id": "pid"}, "contradicts prediction ids"),
        ({"prediction_id": "pid", "prediction_ids": [1]}, "not both"),
        ({"prediction_id": "pid", "served_by": "/nonexistent/logs"}, "does not exist"),
    ],
)
def test_bad_lineage_options_fail_at_call_time(kwargs, message):
    with pytest.raises((ValueError, FileNotFoundError)) as info:
        build_reference(_frame(), **kwargs)
    assert message in str(info.value)


def test_missing_id_column_and_wrong_id_count():
    with pytest.raises(ValueError, match="prediction id column 'pid' is not in the data"):
        build_reference(_frame(), prediction_id="pid")
    with pytest.raises(ValueError, match="3 ids for 200 rows"):
        build_reference(_frame(), prediction_ids=["a", "b", "c"])


def test_damaged_lineage_in_a_file_is_a_clear_error():
    d = build_reference(_frame(), source="served", model="fraud").to_dict()
    d["lineage"]["served_rows"] = 500
    with pytest.raises(ValueError, match="served_rows 500 exceeds n_rows 200"):
        ReferenceProfile.from_dict(d, "ref.json")
    d["lineage"] = {**d["lineage"], "served_rows": 10, "source": "bogus"}
    with pytest.raises(ValueError, match="ref.json: lineage source must be one of"):
        ReferenceProfile.from_dict(d, "ref.json")
