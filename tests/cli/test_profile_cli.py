"""``mlotel profile``: chunked CSV / Parquet / .npy readers give the in-memory profile."""

from __future__ import annotations

import importlib.util
import io
import re
import sys

import numpy as np
import pandas as pd
import pytest

from mlotel.cli import main
from mlotel.cli._readers import Progress, ReaderError, open_table
from mlotel.drift import ReferenceProfile, build_reference
from tests.drift._profiles import assert_same_profile

N = 2000
HAVE_PYARROW = importlib.util.find_spec("pyarrow") is not None
needs_pyarrow = pytest.mark.skipif(not HAVE_PYARROW, reason="pyarrow (mlotel[parquet]) is not installed")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = rng.normal(10, 2, N)
    x[rng.random(N) < 0.03] = np.nan
    color = rng.choice(np.array(["red", "green", "blue"]), N).astype(object)
    color[rng.random(N) < 0.03] = None
    return pd.DataFrame(
        {
            "x": x,
            "ln": rng.lognormal(0, 1, N),
            "color": color,
            "code": rng.choice(np.array(["007", "010", "123"]), N),
            "y": rng.integers(0, 2, N),
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory, frame):
    d = tmp_path_factory.mktemp("data")
    frame.to_csv(d / "train.csv", index=False)
    frame.to_csv(d / "train.tsv.gz", index=False, sep="\t")
    if HAVE_PYARROW:
        frame.to_parquet(d / "train.parquet", row_group_size=700)
    np.save(d / "train.npy", frame[["x", "ln", "y"]].to_numpy())
    np.save(d / "one.npy", frame["ln"].to_numpy())
    return d


def _profile(capsys, *argv) -> tuple[int, str]:
    code = main(["profile", *map(str, argv)])
    return code, capsys.readouterr().err


def test_csv_chunked_equals_unchunked_and_in_memory(files, frame, tmp_path, capsys):
    args = [files / "train.csv", "--categorical", "code", "--target", "y"]
    assert _profile(capsys, *args, "-o", tmp_path / "small.json", "--chunk-rows", "333")[0] == 0
    code, err = _profile(capsys, *args, "-o", tmp_path / "whole.json")
    assert code == 0
    assert "wrote" in err and "2,000 rows" in err and "target 'y'" in err
    small = ReferenceProfile.load(tmp_path / "small.json")
    whole = ReferenceProfile.load(tmp_path / "whole.json")
    assert_same_profile(small, whole)
    expected = build_reference(frame.astype({"code": object}), categorical=["code"], target="y")
    assert_same_profile(whole, expected)
    # Forced-categorical CSV columns keep their spelling ("007", not 7).
    assert dict(whole.features["code"].frequent.items()).keys() == {"007", "010", "123"}
    assert whole.features["color"].missing == frame["color"].isna().sum()
    assert whole.target.name == "y" and "y" not in whole.features


def test_compressed_tsv(files, tmp_path, capsys):
    out = tmp_path / "p.json"
    assert (
        _profile(capsys, files / "train.tsv.gz", "-o", out, "--chunk-rows", "500", "--categorical", "code")[0]
        == 0
    )
    csv_out = tmp_path / "c.json"
    assert _profile(capsys, files / "train.csv", "-o", csv_out, "--categorical", "code")[0] == 0
    assert_same_profile(ReferenceProfile.load(out), ReferenceProfile.load(csv_out))


@needs_pyarrow
def test_parquet_chunked_equals_in_memory(files, frame, tmp_path, capsys):
    out = tmp_path / "p.json"
    code, _ = _profile(capsys, files / "train.parquet", "-o", out, "--chunk-rows", "256", "--target", "y")
    assert code == 0
    expected = build_reference(frame, target="y")
    assert_same_profile(ReferenceProfile.load(out), expected)


@needs_pyarrow
def test_parquet_and_csv_agree(files, tmp_path, capsys):
    for name in ("train.parquet", "train.csv"):
        assert (
            _profile(capsys, files / name, "-o", tmp_path / f"{name}.json", "--features", "x,ln,color")[0]
            == 0
        )
    a = ReferenceProfile.load(tmp_path / "train.parquet.json")
    b = ReferenceProfile.load(tmp_path / "train.csv.json")
    assert list(a.features) == ["x", "ln", "color"]
    assert_same_profile(a, b)


def test_npy_chunked_with_names_and_target(files, frame, tmp_path, capsys):
    out = tmp_path / "n.json"
    code, _ = _profile(
        capsys, files / "train.npy", "-o", out, "--features", "x,ln,y", "--target", "y", "--chunk-rows", "99"
    )
    assert code == 0
    profile = ReferenceProfile.load(out)
    expected = build_reference(frame[["x", "ln", "y"]].to_numpy(), features=["x", "ln", "y"], target="y")
    assert list(profile.features) == ["x", "ln"]
    assert_same_profile(profile, expected)


def test_npy_default_names_and_one_dimensional(files, tmp_path, capsys):
    assert _profile(capsys, files / "train.npy", "-o", tmp_path / "a.json")[0] == 0
    assert list(ReferenceProfile.load(tmp_path / "a.json").features) == ["f0", "f1", "f2"]
    assert _profile(capsys, files / "one.npy", "-o", tmp_path / "b.json", "--chunk-rows", "300")[0] == 0
    one = ReferenceProfile.load(tmp_path / "b.json")
    assert list(one.features) == ["f0"] and one.n_rows == N


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["absent.csv"], "absent.csv: no such file"),
        (["train.txt"], "unsupported file type '.txt'"),
        (["train.csv", "--features", "x,nope"], "no column(s) ['nope']"),
        (["train.csv", "--target", "nope"], "target column 'nope' is not in the data"),
        (["train.npy", "--features", "a,b"], "2 names given for an array with 3 columns"),
    ],
)
def test_errors_exit_2_with_a_message(files, tmp_path, capsys, argv, message):
    (files / "train.txt").write_text("x\n1\n")
    argv = [str(files / argv[0]), *argv[1:]]
    code, err = _profile(capsys, *argv, "-o", tmp_path / "out.json")
    assert code == 2
    assert err.startswith("mlotel profile: error: ") and message in err
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize(
    ("module", "file", "extra"),
    [("pandas", "train.csv", "mlotel[pandas]"), ("pyarrow", "train.parquet", "mlotel[parquet]")],
)
def test_missing_optional_dependency(files, monkeypatch, module, file, extra):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    with pytest.raises(
        ReaderError, match=re.escape(f"needs {module}, which is not installed (pip install '{extra}')")
    ):
        open_table(files / file)


def test_quiet_when_stderr_is_not_a_terminal(files, tmp_path, capsys):
    code, err = _profile(capsys, files / "train.csv", "-o", tmp_path / "q.json", "--chunk-rows", "100")
    assert code == 0 and err.count("\n") == 1 and err.startswith("wrote")


def test_progress_line_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    stream = io.StringIO()
    bar = Progress(1000, "rows", "profiling t.npy", enabled=True, delay=0.0, stream=stream)
    for position in (250, 1000):
        bar._last = 0.0  # let every update through the 0.2 s throttle
        bar.update(position)
    bar.close()
    text = stream.getvalue()
    assert "profiling t.npy:  25.0% (250 rows of 1,000 rows)" in text
    assert text.endswith("profiling t.npy: 100.0% (1,000 rows of 1,000 rows)\n")
    silent = io.StringIO()
    off = Progress(1000, "rows", "x", enabled=False, delay=0.0, stream=silent)
    off.update(1000)
    off.close()
    assert silent.getvalue() == ""


def test_progress_bar_with_tqdm():
    pytest.importorskip("tqdm")
    stream = io.StringIO()
    bar = Progress(3_000_000, "bytes", "profiling big.csv", enabled=True, delay=0.0, stream=stream)
    bar.update(1_000_000)
    bar.update(3_000_000)
    bar.close()
    text = stream.getvalue()
    assert "profiling big.csv" in text and "100%" in text and "2.86M/2.86M" in text
