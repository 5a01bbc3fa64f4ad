"""Reference profiles of a ``dask.dataframe.DataFrame``: one partial profile per partition
(``to_delayed``), merged in a tree of fan-in :data:`FAN_IN` on the workers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlotel.engines import _partition
from mlotel.engines._partition import PartialBuilder

__all__ = ["FAN_IN", "is_dask_frame", "partial_profile"]

#: Partial profiles merged per reduction task.
FAN_IN = 8


def is_dask_frame(data: Any) -> bool:
    cls = type(data)
    return cls.__name__ == "DataFrame" and cls.__module__.startswith(("dask.", "dask_expr"))


def partial_profile(
    ddf: Any, builder_type: type[PartialBuilder], options: Mapping[str, Any], *, progress: bool = False
) -> PartialBuilder:
    """Profile every partition of ``ddf`` on the current scheduler (a ``distributed.Client``
    when one is active); the merged builder on the driver.

    A failed task raises its exception here (Dask re-raises the worker's): no profile is
    returned for part of the data.
    """
    from dask import delayed

    options = dict(options)
    profile = delayed(_partition.profile_frame, pure=True)
    merge = delayed(_partition.merge_partials, pure=True)
    level = [profile(part, builder_type, options) for part in ddf.to_delayed()]
    if not level:
        return builder_type(**options)
    while len(level) > 1:
        level = [merge(builder_type, *level[i : i + FAN_IN]) for i in range(0, len(level), FAN_IN)]
    return builder_type.from_bytes(_compute(level[0], progress))


def _compute(task: Any, progress: bool) -> bytes:
    client = _client()
    if client is not None:
        future = client.compute(task)
        if progress:
            from distributed import progress as show

            show(future)
        return future.result()
    if progress:
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            return task.compute()
    return task.compute()


def _client() -> Any:
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:  # no client: the local scheduler
        return None
