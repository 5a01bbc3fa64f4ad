"""Spark: build_reference / profile_current on a pyspark DataFrame equal the one-process profile."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mlotel
from tests.drift._profiles import assert_same_profile

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < 0.05] = np.nan
    color = rng.choice(np.array(["red", "green", "blue"]), n, p=[0.6, 0.3, 0.1]).astype(object)
    color[rng.random(n) < 0.03] = None
    return pd.DataFrame(
        {
            "x": x,
            "count": rng.integers(0, 1000, n),
            "color": color,
            "flag": rng.random(n) < 0.2,
            "label": rng.integers(0, 2, n),
        }
    )


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return frame(4000, 1)


def test_spark_profile_equals_the_one_process_profile(spark, data):
    df = spark.createDataFrame(data).repartition(5)
    got = mlotel.build_reference(df, categorical=["color"], target="label")
    want = mlotel.build_reference(data, categorical=["color"], target="label")
    assert_same_profile(got, want)
    assert got.target.name == "label" and got.features["color"].kind == "categorical"


def test_spark_current_side_and_compare(spark, data):
    reference = mlotel.build_reference(data, categorical=["color"], target="label")
    current = frame(3000, 2, shift=0.5).drop(columns=["label"])  # serving data: no labels
    got = mlotel.profile_current(spark.createDataFrame(current).repartition(3), reference)
    assert_same_profile(got, mlotel.profile_current(current, reference))
    report = reference.compare(got)
    assert report.to_dict() == reference.compare(mlotel.profile_current(current, reference)).to_dict()
    assert report.feature_verdicts()["x"] == "alert"


def test_an_empty_spark_frame_profiles_its_columns_with_zero_counts(spark, data):
    empty = spark.createDataFrame(data).filter("false")
    assert_same_profile(mlotel.build_reference(empty), mlotel.build_reference(data.iloc[:0]))


def test_spark_nested_columns_are_reported_not_profiled(spark):
    df = spark.createDataFrame(
        [(1.0, [1, 2], {"a": 1}, ("u", 2)), (2.0, [3], {}, ("v", 3))],
        "x double, arr array<int>, m map<string,int>, s struct<a:string,b:int>",
    )
    with pytest.warns(UserWarning, match=r"3 column\(s\) not profiled.*'arr', 'm', 's'"):
        profile = mlotel.build_reference(df)
    assert list(profile.features) == ["x"] and profile.n_rows == 2


def test_a_failed_spark_task_raises_the_engine_error(spark, tmp_path):
    from pyspark.sql import functions as F

    def explode(x: float) -> float:
        if x > 2:
            raise RuntimeError("bad row in partition")
        return x

    df = spark.range(0, 8, numPartitions=4).select(
        F.udf(explode, "double")(F.col("id").cast("double")).alias("x")
    )
    with pytest.raises(Exception, match="bad row in partition"):
        mlotel.build_reference(df)
