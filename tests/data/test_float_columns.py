"""float_columns: the columns of a 2-D array as contiguous float64 rows, whatever its layout."""

from __future__ import annotations

import numpy as np
import pytest

from mlotel.data._columns import _TRANSPOSE_BLOCK, float_columns


@pytest.mark.parametrize("n_rows", [0, 1, 7, _TRANSPOSE_BLOCK // 3 + 5, 3 * _TRANSPOSE_BLOCK + 11])
@pytest.mark.parametrize("width", [1, 2, 10, 300])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16, np.bool_])
def test_equals_the_transpose(n_rows: int, width: int, order: str, dtype: type) -> None:
    rng = np.random.default_rng(n_rows + width)
    a = np.asarray(rng.normal(0, 100, (n_rows, width)), order=order).astype(dtype, order=order)
    out = float_columns(a)
    assert out.dtype == np.float64 and out.flags.c_contiguous
    assert out.shape == (width, n_rows)
    np.testing.assert_array_equal(out, a.T.astype(np.float64))


def test_strided_views_and_special_values() -> None:
    a = np.arange(60.0).reshape(12, 5)
    a[3, 1], a[4, 2], a[5, 3] = np.nan, np.inf, -0.0
    view = a[::2, 1:4]  # neither C- nor F-contiguous
    np.testing.assert_array_equal(float_columns(view), view.T)
    assert np.signbit(float_columns(a)[3, 5])  # -0.0 kept
