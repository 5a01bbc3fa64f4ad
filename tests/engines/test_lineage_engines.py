"""Lineage on Dask (2 worker processes): served-row counts of the partitions merge exactly, the
id column is read besides selected features, and workers match ids against the payload logs."""

from __future__ import annotations

import numpy as np
import pytest

import mlotel
from mlotel.drift.lineage import ServedBy
from tests.drift.test_lineage import _frame, _serve


@pytest.fixture(scope="module")
def dd():
    return pytest.importorskip("dask.dataframe")


def test_dask_lineage_equals_the_one_process_lineage(dask_client, dd, tmp_path):
    data_dir = tmp_path / "mlotel-data"
    served = _serve(data_dir, "fraud", "3", [_frame(50, s) for s in range(6)], per_row_ids=True)  # 300 rows
    data = _frame(1000, 7)
    ids = np.array([None] * 1000, dtype=object)
    ids[::4] = np.array(served)[: len(ids[::4])]  # 250 served rows, every id in the logs
    ids[1::8] = "never-logged"  # 125 more served rows the logs do not know
    data["pid"] = ids
    ddf = dd.from_pandas(data, npartitions=11)  # more than the fan-in: a two-level merge tree
    options = dict(features=["amount"], prediction_id="pid", served_by=data_dir, model="churn")
    got = mlotel.build_reference(ddf, **options).lineage
    want = mlotel.build_reference(data, **options).lineage
    assert (got.served_rows, got.n_rows, got.source, got.method) == (375, 1000, "mixed", "payload_logs")
    assert got.served_by == want.served_by == (ServedBy("fraud", "3", 250), ServedBy("churn", None, 125))
    assert got.log_ids == want.log_ids == 300 + 6  # per-row ids and each call's own id
