"""Spark Connect: a remote DataFrame (no RDDs) profiles as a classic one does, the partial
profiles merged on the client as they arrive; the CLI reaches the server via SPARK_REMOTE."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlotel
from mlotel.drift import ReferenceProfile
from tests.drift._profiles import assert_same_profile
from tests.engines.test_spark import frame

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def remote(spark_connect_url):
    # The Connect client's own builder: pyspark.sql.SparkSession refuses a remote session in
    # a process that already runs a classic one (the other Spark tests' local[2]).
    from pyspark.sql.connect.session import SparkSession

    session = SparkSession.builder.remote(spark_connect_url).create()
    yield session
    session.stop()


def test_a_spark_connect_frame_profiles_as_one_process(remote):
    data = frame(4000, 3)
    df = remote.createDataFrame(data).repartition(3)
    assert type(df).__module__.startswith("pyspark.sql.connect")
    got = mlotel.build_reference(df, categorical=["color"], target="label")
    assert_same_profile(got, mlotel.build_reference(data, categorical=["color"], target="label"))
    current = frame(3000, 4, shift=0.8)
    remote_current = mlotel.profile_current(remote.createDataFrame(current).repartition(2), got)
    assert_same_profile(remote_current, mlotel.profile_current(current, got))
    report = got.compare(remote_current)
    assert any(r.feature == "x" and r.verdict == "alert" for r in report.results)


def test_an_empty_spark_connect_frame_has_its_columns_with_zero_counts(remote):
    data = frame(100, 5)
    profile = mlotel.build_reference(remote.createDataFrame(data).limit(0), categorical=["color"])
    assert profile.n_rows == 0
    assert set(profile.features) == set(data.columns)


def test_cli_profile_on_spark_connect_via_spark_remote(spark_connect_url, tmp_path):
    pytest.importorskip("pyarrow")
    data = frame(3000, 6)
    lake = tmp_path / "lake"
    lake.mkdir()
    data.iloc[:1500].to_parquet(lake / "part-0.parquet", index=False)
    data.iloc[1500:].to_parquet(lake / "part-1.parquet", index=False)
    out = tmp_path / "reference.json"
    # A fresh process: SPARK_REMOTE, as spark-submit/pyspark users set it, picks the server.
    env = {**os.environ, "SPARK_REMOTE": spark_connect_url}
    args = ["profile", str(lake), "-o", str(out), "--categorical", "color", "--engine", "spark", "-q"]
    done = subprocess.run(
        [sys.executable, "-m", "mlotel.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert_same_profile(ReferenceProfile.load(out), mlotel.build_reference(data, categorical=["color"]))


def test_a_failed_task_on_spark_connect_raises_the_engine_error(remote):
    def explode(batches):  # a DataFrame method, so the same on Connect and classic Spark
        for batch in batches:
            if max(batch.column(0).to_pylist(), default=0) > 2:
                raise RuntimeError("bad row in partition")
            yield batch

    df = (
        remote.range(0, 8, numPartitions=4)
        .selectExpr("cast(id as double) as x")
        .mapInArrow(explode, "x double")
    )
    with pytest.raises(Exception, match="bad row in partition"):
        mlotel.build_reference(df)
