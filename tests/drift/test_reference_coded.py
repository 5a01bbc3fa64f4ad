"""Text counted in C (Arrow dictionary encoding, pandas codes) profiles exactly as the object
arrays of Python values it replaces: same top-K keys and counts, missing counts and kinds."""

from __future__ import annotations

import numpy as np
import pytest

from mlotel.drift import ReferenceBuilder
from mlotel.engines._partition import arrow_columns

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")


def _object_columns(batch) -> dict[str, np.ndarray]:
    """What the readers made before: every column through ``to_numpy``."""
    out = {}
    for name, column in zip(batch.schema.names, batch.columns):
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        out[name] = column.to_numpy(zero_copy_only=False)
    return out


def _strings(rng: np.random.Generator, n: int, distinct: int, null_rate: float) -> list:
    codes = rng.zipf(1.2, n) % distinct
    return [None if rng.random() < null_rate else f"s{c}" for c in codes]


def _batch(rng: np.random.Generator, n: int) -> object:
    many = _strings(rng, n, 5000, 0.05)  # far more distinct values than top_k
    late = _strings(rng, n, 30, 0.2)
    late[:16] = [None] * 16  # missing first: to_column then tries numbers
    numeric_text = [None] * 16 + [str(x) for x in rng.normal(size=n - 16).round(2)]
    return pa.record_batch(
        {
            "many": pa.array(many),
            "large": pa.array(_strings(rng, n, 40, 0.3), pa.large_string()),
            "dict": pa.array(_strings(rng, n, 12, 0.1)).dictionary_encode(),
            "bytes": pa.array([None if s is None else s.encode() for s in _strings(rng, n, 20, 0.1)]),
            "late": pa.array(late),
            "numeric_text": pa.array(numeric_text),
            "empty": pa.array([None] * n, pa.string()),
            "x": pa.array(rng.normal(size=n)),
            "i": pa.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 9, n).astype(object))),
        }
    )


@pytest.mark.parametrize("categorical", [(), ("numeric_text", "x")])
@pytest.mark.parametrize("top_k", [8, 64, 1024])
def test_arrow_codes_profile_like_object_arrays(top_k: int, categorical: tuple[str, ...]) -> None:
    rng = np.random.default_rng(top_k)
    options = {"categorical": list(categorical), "top_k": top_k}
    old, new = ReferenceBuilder(**options), ReferenceBuilder(**options)
    for n in (3000, 40, 17):
        batch = _batch(rng, n)
        old.update(_object_columns(batch))
        new.update(arrow_columns(batch))
    assert new.build() == old.build()
    assert new.to_bytes() == old.to_bytes()
    profile = new.build()
    assert (profile.features["many"].sketch.other > 0) == (top_k < 1024)  # top-K reduced, or exact
    assert profile.features["numeric_text"].kind == ("categorical" if categorical else "numeric")
    assert profile.features["late"].kind == "categorical"


def test_arrow_codes_target_column() -> None:
    rng = np.random.default_rng(3)
    batch = _batch(rng, 500)
    old = ReferenceBuilder(target="large", top_k=16)
    new = ReferenceBuilder(target="large", top_k=16)
    old.update(_object_columns(batch))
    new.update(arrow_columns(batch))
    assert new.build() == old.build()


def _frame(rng: np.random.Generator, n: int) -> object:
    text = _strings(rng, n, 3000, 0.1)
    return pd.DataFrame(
        {
            "str": pd.array(text, dtype="str"),
            "string_python": pd.array(_strings(rng, n, 50, 0.1), dtype="string[python]"),
            "string_arrow": pd.array(_strings(rng, n, 50, 0.1), dtype="string[pyarrow]"),
            "category": pd.Categorical(_strings(rng, n, 40, 0.2)),
            "object": pd.Series(np.array(_strings(rng, n, 70, 0.1), dtype=object), dtype=object),
            "object_nan": pd.Series(
                [np.nan if s is None else s for s in _strings(rng, n, 9, 0.3)], dtype=object
            ),
            "mixed": pd.Series(
                [(1 if i % 3 == 0 else ("1" if i % 3 == 1 else True)) for i in range(n)], dtype=object
            ),
            "bool_int_category": pd.Categorical(rng.integers(0, 2, n).tolist(), categories=[0, 1]),
            "x": rng.normal(size=n),
        }
    )


@pytest.mark.parametrize("top_k", [8, 1024])
def test_pandas_codes_profile_like_object_arrays(top_k: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlotel.data._inputs as inputs
    import mlotel.drift.profile as profile_module

    rng = np.random.default_rng(top_k)
    frames = [_frame(rng, n) for n in (4000, 20, 1)]
    new = ReferenceBuilder(top_k=top_k, categorical=["category"])
    for frame in frames:
        new.update(frame)

    def uncoded(*args, coded=False, **kwargs):  # the per-value path, as before
        return inputs.read_input(*args, **kwargs)

    monkeypatch.setattr(profile_module, "read_input", uncoded)
    old = ReferenceBuilder(top_k=top_k, categorical=["category"])
    for frame in frames:
        old.update(frame)
    assert new.build() == old.build()
    assert new.to_bytes() == old.to_bytes()


def test_coded_read_input_only_when_asked() -> None:
    from mlotel.data import read_input
    from mlotel.sketches.frequent import CodedValues

    frame = pd.DataFrame({"s": pd.array(["a", None], dtype="str"), "c": pd.Categorical(["x", None])})
    assert all(isinstance(c.values, np.ndarray) for c in read_input(frame).columns)
    coded = read_input(frame, coded=True).columns
    assert all(isinstance(c.values, CodedValues) for c in coded)
    assert [np.asarray(c.values).tolist() for c in coded] == [["a", None], ["x", None]]
