"""Dask (2 worker processes): build_reference / profile_current equal the one-process profile."""

from __future__ import annotations

import pandas as pd
import pytest

import mlotel
from tests.drift._profiles import assert_same_profile
from tests.engines.test_spark import frame


@pytest.fixture(scope="module")
def dd():
    return pytest.importorskip("dask.dataframe")


def test_dask_profile_equals_the_one_process_profile(dask_client, dd):
    data = frame(4000, 3)
    ddf = dd.from_pandas(data, npartitions=11)  # more than the fan-in: a two-level tree
    got = mlotel.build_reference(ddf, categorical=["color"], target="label")
    assert_same_profile(got, mlotel.build_reference(data, categorical=["color"], target="label"))


def test_dask_current_side_and_compare(dask_client, dd):
    reference = mlotel.build_reference(frame(4000, 3), categorical=["color"], target="label")
    current = frame(2000, 4, shift=0.5)
    got = mlotel.profile_current(dd.from_pandas(current, npartitions=3), reference)
    want = mlotel.profile_current(current, reference)
    assert_same_profile(got, want)
    assert got.target is not None  # labels present: compared with the reference target
    assert reference.compare(got).to_dict() == reference.compare(want).to_dict()


def test_dask_unreadable_columns_are_reported(dask_client, dd):
    import dask

    data = pd.DataFrame({"x": [1.0, 2.0, 3.0], "items": [[1], [2, 3], []]})
    with dask.config.set({"dataframe.convert-string": False}):  # else dask makes the lists text
        ddf = dd.from_pandas(data, npartitions=2)
    with pytest.warns(UserWarning, match=r"1 column\(s\) not profiled.*'items'"):
        profile = mlotel.build_reference(ddf)
    assert list(profile.features) == ["x"]


def test_a_failed_dask_task_raises_the_engine_error(dask_client, dd):
    def _fail(part: pd.DataFrame) -> pd.DataFrame:  # nested: workers get it by value
        if part["x"].max() > 2:
            raise RuntimeError("bad partition")
        return part

    ddf = dd.from_pandas(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}), npartitions=2).map_partitions(_fail)
    with pytest.raises(RuntimeError, match="bad partition"):
        mlotel.build_reference(ddf)


def test_dask_multivariate_model_is_fitted_on_the_driver(dask_client, dd):
    from tests.drift.test_multivariate import _data

    data = _data(8000, 1)
    ddf = dd.from_pandas(data, npartitions=4)
    reference = mlotel.build_reference(ddf, categorical=["color"], multivariate=True)
    model = reference.multivariate
    assert model.features == ("x1", "x2", "x3", "color") and model.n_seen == 8000
    assert set(model.categories["color"]) == {"a", "b", "c"}  # categorical, one-hot on the driver too
    flipped = _data(3000, 2, sign=-1.0)
    got = mlotel.profile_current(dd.from_pandas(flipped, npartitions=3), reference)
    want = mlotel.profile_current(flipped, reference)
    assert got.multivariate.count == 3000
    assert got.multivariate.total == pytest.approx(want.multivariate.total)
    row = reference.compare(got).results[-1]
    assert (row.feature, row.verdict) == ("multivariate", "alert")
