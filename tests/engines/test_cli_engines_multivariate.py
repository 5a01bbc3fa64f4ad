"""``mlotel profile --multivariate`` and ``mlotel drift`` on Dask and Spark give the one-process
multivariate result (model and report row)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlotel.cli import main
from mlotel.drift import ReferenceProfile
from mlotel.drift.multivariate import METHOD, NAME

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def _part(n: int, seed: int, sign: float) -> pd.DataFrame:
    """x1 = sign * x0 + noise, colour linked to x2: flipping ``sign`` keeps every marginal."""
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=n)
    color = rng.choice(np.array(["a", "b", "c"], dtype=object), n)
    x2 = np.where(color == "a", 2.0, 0.0) + rng.normal(size=n)
    return pd.DataFrame({"x0": x0, "x1": sign * x0 + 0.3 * rng.normal(size=n), "x2": x2, "color": color})


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    pytest.importorskip("pyarrow")
    out = {}
    # 3 x 600 rows: fewer than 2 chunks of 1,000, so the bounds do not depend on the row
    # order (which differs between engines: the sample holds every row, in another order).
    for name, sign, seeds in (("reference", 1.0, (1, 2, 3)), ("flipped", -1.0, (4, 5, 6))):
        root = tmp_path_factory.mktemp(name)
        for i, seed in enumerate(seeds):
            _part(600, seed, sign).to_parquet(root / f"part-{i}.parquet", index=False)
        out[name] = root
    return out


def test_multivariate_profile_and_drift_agree_across_engines(lakes, tmp_path, spark, dask_client, capsys):
    engines = {
        "local": (),
        "dask": ("--engine", "dask", "--scheduler", dask_client.scheduler.address),
        "spark": ("--engine", "spark"),
    }
    models, rows = {}, {}
    for engine, args in engines.items():
        path = tmp_path / f"{engine}.json"
        profile = ["profile", str(lakes["reference"]), "-o", str(path), "--categorical", "color"]
        assert main([*profile, "--multivariate", "-q", *args]) == 0
        models[engine] = ReferenceProfile.load(path).multivariate
        code = main(
            ["drift", str(path), str(lakes["flipped"]), "--format", "json", "--fail-on", "alert", "-q", *args]
        )
        assert code == 1
        results = json.loads(capsys.readouterr().out)["results"]
        (rows[engine],) = [r for r in results if r["method"] == METHOD]
        assert all(r["verdict"] == "ok" for r in results if r["method"] != METHOD)  # marginals unchanged
    local = models["local"]
    assert local.categories and set(local.categories["color"]) == {"a", "b", "c"}
    for engine in ("dask", "spark"):
        model = models[engine]
        assert (model.features, model.categories, model.n_rows) == (local.features, local.categories, 1800)
        assert model.components.shape == local.components.shape
        assert model.error_mean == pytest.approx(local.error_mean, rel=1e-9)
        assert (model.lower, model.upper) == pytest.approx((local.lower, local.upper), rel=1e-9)
        row, want = rows[engine], rows["local"]
        assert (row["feature"], row["verdict"], row["n_current"]) == (NAME, "alert", 1800)
        assert (row["value"], row["threshold"]) == pytest.approx((want["value"], want["threshold"]), rel=1e-9)
    assert rows["local"]["value"] > 2
