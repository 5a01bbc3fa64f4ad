"""Per-call cost of mlotel.data.read_input / read_output on typical model inputs.

Run: ``python benchmarks/adapters.py``. Prints the median of several timing
repeats per case; numbers depend on the machine, so compare runs on one host.
"""

from __future__ import annotations

import timeit

import numpy as np
import pandas as pd

from mlotel.data import read_input, read_output, row_count


def _per_call(fn, min_seconds: float = 0.2) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * min_seconds / 0.2))
    return float(np.median(timer.repeat(repeat=5, number=number))) / number


def _mixed_frame(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    columns = {f"x{i}": rng.normal(size=n_rows) for i in range(6)}
    columns["count"] = rng.integers(0, 100, n_rows)
    columns["flag"] = rng.random(n_rows) < 0.5
    columns["city"] = pd.Categorical(rng.choice(["paris", "tokyo", "lima"], n_rows))
    columns["plan"] = rng.choice(["free", "pro"], n_rows).astype(object)
    return pd.DataFrame(columns)


def main() -> None:
    rng = np.random.default_rng(0)
    row = rng.normal(size=(1, 10))
    names = [f"x{i}" for i in range(10)]
    frame_1 = pd.DataFrame(row, columns=names)
    frame_200k = pd.DataFrame(rng.normal(size=(200_000, 10)), columns=names)
    cases = {
        "read_input  numpy 1x10 float": (read_input, row),
        "read_input  DataFrame 1x10 float": (read_input, frame_1),
        "read_input  DataFrame 1x10 mixed dtypes": (read_input, _mixed_frame(1, rng)),
        "read_input  dict row of 10 floats": (read_input, dict(frame_1.iloc[0])),
        "read_input  numpy 200000x10 float": (read_input, frame_200k.to_numpy()),
        "read_input  numpy 200000x10 int": (read_input, rng.integers(0, 9, (200_000, 10))),
        "read_input  DataFrame 200000x10 float": (read_input, frame_200k),
        "read_input  DataFrame 200000x10 mixed dtypes": (read_input, _mixed_frame(200_000, rng)),
        "read_output numpy 1 float": (read_output, np.array([0.5])),
        "read_output numpy 200000x3 proba": (read_output, rng.random((200_000, 3))),
        "row_count   DataFrame 200000x10": (row_count, frame_200k),
    }
    width = max(map(len, cases))
    for name, (fn, arg) in cases.items():
        seconds = _per_call(lambda fn=fn, arg=arg: fn(arg))
        shown = f"{seconds * 1e6:10.1f} us" if seconds < 1e-3 else f"{seconds * 1e3:10.2f} ms"
        print(f"{name:<{width}}  {shown}")


if __name__ == "__main__":
    main()
