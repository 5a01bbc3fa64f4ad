"""Whether a model input names its own columns.

A framework knows names for a model's features (``feature_names_in_``, a booster's
feature names), but those only name *positional* data: a DataFrame, a dict of
columns, a structured array or a list of dict rows keeps the names the user gave
it. LightGBM, for one, stores ``mean_radius`` for a DataFrame column ``mean radius``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlotel.data._pandas import is_dataframe

__all__ = ["names_its_columns"]


def names_its_columns(obj: Any) -> bool:
    """True for inputs whose columns carry names of their own (checked by type, nothing is read)."""
    if isinstance(obj, np.ndarray):
        return obj.dtype.names is not None
    if isinstance(obj, dict):
        return True
    if isinstance(obj, list | tuple):
        return bool(obj) and isinstance(obj[0], dict)
    return is_dataframe(obj) or hasattr(obj, "column_names")  # pandas; pyarrow Table / RecordBatch
