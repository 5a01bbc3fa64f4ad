"""``mlotel profile/drift --engine local|dask|spark`` on a Parquet dataset give one profile."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import mlotel
from mlotel.cli import main
from mlotel.drift import ReferenceProfile
from tests.drift._profiles import assert_same_profile
from tests.engines.test_spark import frame

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    pytest.importorskip("pyarrow")
    root = tmp_path_factory.mktemp("lake")
    parts = [frame(1500, seed) for seed in (11, 12, 13)]
    (root / "year=2026").mkdir()
    for i, part in enumerate(parts):
        part.to_parquet(root / "year=2026" / f"part-{i}.parquet", index=False)
    (root / "_SUCCESS").write_text("")
    return root, pd.concat(parts, ignore_index=True)


def _profile(dataset_dir, out, *engine_args):
    args = ["profile", str(dataset_dir), "-o", str(out), "--categorical", "color", "--target", "label", "-q"]
    assert main([*args, *engine_args]) == 0
    return ReferenceProfile.load(out)


def test_profile_engines_agree(dataset, tmp_path, spark, dask_client):
    root, whole = dataset
    want = mlotel.build_reference(whole, categorical=["color"], target="label")
    local = _profile(root, tmp_path / "local.json")
    assert_same_profile(local, want)
    glob_local = _profile(root / "*" / "part-*.parquet", tmp_path / "glob.json")
    assert_same_profile(glob_local, want)
    on_dask = _profile(
        root, tmp_path / "dask.json", "--engine", "dask", "--scheduler", dask_client.scheduler.address
    )
    assert_same_profile(on_dask, want)
    on_spark = _profile(root, tmp_path / "spark.json", "--engine", "spark")
    assert_same_profile(on_spark, want)


def test_drift_engines_agree(dataset, tmp_path, spark, dask_client, capsys):
    root, whole = dataset
    reference = mlotel.build_reference(frame(3000, 20, shift=0.4), categorical=["color"], target="label")
    ref_path = tmp_path / "reference.json"
    reference.save(ref_path)
    outputs = []
    for engine_args in (
        (),
        ("--engine", "dask", "--scheduler", dask_client.scheduler.address),
        ("--engine", "spark"),
    ):
        code = main(
            ["drift", str(ref_path), str(root), "--format", "json", "--fail-on", "alert", "-q", *engine_args]
        )
        assert code == 1  # x is shifted by 0.4 sd
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0]["verdict"] == "alert"


def test_missing_engine_names_the_extra(monkeypatch, tmp_path, capsys, dataset):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.startswith(("dask", "distributed")):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    code = main(["profile", str(dataset[0]), "-o", str(tmp_path / "p.json"), "--engine", "dask", "-q"])
    assert code == 2
    assert "pip install 'mlotel[dask]'" in capsys.readouterr().err
    assert not (tmp_path / "p.json").exists()


def test_a_failed_engine_run_writes_no_profile(tmp_path, capsys, spark):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "part-0.parquet").write_bytes(b"not parquet at all")
    code = main(["profile", str(bad), "-o", str(tmp_path / "p.json"), "--engine", "spark", "-q"])
    assert code == 2
    assert "mlotel profile: error: spark failed" in capsys.readouterr().err
    assert not (tmp_path / "p.json").exists()
