"""Chunked readers for CSV, Parquet and ``.npy`` files, and a progress display.

Every reader yields batches that :func:`mlotel.data.read_input` accepts, holding at most
``chunk_rows`` rows, so a file of any size is profiled in constant memory: CSV through
``pandas.read_csv(chunksize=...)``, Parquet through ``pyarrow.parquet.ParquetFile.iter_batches``
(as dicts of columns: numbers as numpy arrays, text dictionary-encoded by pyarrow; no
pandas needed), ``.npy`` through a read-only memory map sliced
row-wise. pandas and pyarrow are optional and imported only when such a file is read.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from mlotel.data._arrow import arrow_column

__all__ = ["DEFAULT_CHUNK_ROWS", "Chunk", "Progress", "ReaderError", "TableFile", "open_table"]

DEFAULT_CHUNK_ROWS = 65_536

_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}
_CSV = {".csv": ",", ".tsv": "\t"}
_PARQUET = (".parquet", ".pq")
SUPPORTED = ".csv, .tsv (optionally .gz/.bz2/.xz/.zst/.zip), .parquet, .pq, .npy"


class ReaderError(Exception):
    """A data file cannot be read: unknown type, a missing optional dependency, bad content."""


@dataclass(frozen=True)
class Chunk:
    """One batch of rows and how far through the file it ends (in :attr:`TableFile.unit`)."""

    data: Any
    position: int


class TableFile:
    """A data file read in chunks. Iterate to get :class:`Chunk` objects.

    ``total`` is the file's size in ``unit`` (``"rows"`` for Parquet and ``.npy``,
    ``"bytes"`` for CSV, whose row count is unknown until read), for progress display.
    ``positional`` is true when columns have no names (``.npy``); ``features`` then names
    them, as for :func:`mlotel.data.read_input`.
    """

    def __init__(self, path: str, chunks: Iterator[Chunk], total: int, unit: str, positional: bool) -> None:
        self.path = path
        self.total = total
        self.unit = unit
        self.positional = positional
        self._chunks = chunks

    def __iter__(self) -> Iterator[Chunk]:
        return self._chunks


def open_table(
    path: str | os.PathLike[str],
    *,
    columns: Sequence[str] | None = None,
    categorical: Collection[str] = (),
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> TableFile:
    """Open ``path`` for chunked reading, choosing the reader from its extension.

    ``columns`` restricts named files (CSV, Parquet) to those columns; a name the file lacks
    raises :class:`ReaderError`. ``categorical`` columns of a CSV file are read as text, so
    their categories are the file's own spelling (``"007"`` stays ``"007"``) in every chunk.
    Raises :class:`ReaderError` for an unsupported extension, a missing optional dependency
    (pandas for CSV, pyarrow for Parquet) or an unreadable file; :class:`OSError` when the
    file cannot be opened.
    """
    path = os.fspath(path)
    if chunk_rows < 1:
        raise ValueError("chunk_rows must be >= 1")
    if not os.path.isfile(path):
        raise ReaderError(f"{path}: no such file")
    lower = path.lower()
    root, ext = os.path.splitext(lower)
    compression = _COMPRESSION.get(ext)
    if compression is not None:
        ext = os.path.splitext(root)[1]
    if ext in _CSV:
        return _open_csv(path, _CSV[ext], compression, columns, categorical, chunk_rows)
    if compression is not None:
        raise ReaderError(f"{path}: compressed files must be CSV or TSV (supported: {SUPPORTED})")
    if ext in _PARQUET:
        return _open_parquet(path, columns, chunk_rows)
    if ext == ".npy":
        return _open_npy(path, chunk_rows)
    raise ReaderError(f"{path}: unsupported file type {ext or '(no extension)'!r} (supported: {SUPPORTED})")


# --------------------------------------------------------------------------------------------
# CSV


def _open_csv(
    path: str,
    sep: str,
    compression: str | None,
    columns: Sequence[str] | None,
    categorical: Collection[str],
    chunk_rows: int,
) -> TableFile:
    try:
        import pandas as pd
    except ImportError:
        raise ReaderError(
            f"{path}: reading CSV needs pandas, which is not installed (pip install 'mlotel[pandas]')"
        ) from None
    handle = open(path, "rb")  # noqa: SIM115 -- closed by the generator
    try:
        header = pd.read_csv(handle, sep=sep, compression=compression, nrows=0)
        handle.seek(0)
    except Exception as exc:
        handle.close()
        raise ReaderError(f"{path}: not readable as CSV ({exc})") from None
    names = [str(c) for c in header.columns]
    if columns is not None:
        absent = [c for c in columns if c not in names]
        if absent:
            handle.close()
            raise ReaderError(f"{path}: no column(s) {absent} (columns: {names[:20]})")
    dtype = {c: object for c in categorical if c in names}
    reader = pd.read_csv(
        handle,
        sep=sep,
        compression=compression,
        chunksize=chunk_rows,
        usecols=list(columns) if columns is not None else None,
        dtype=dtype or None,
    )

    def chunks() -> Iterator[Chunk]:
        with handle, reader:
            try:
                for frame in reader:
                    yield Chunk(frame, handle.tell())
            except (ValueError, pd.errors.ParserError) as exc:
                raise ReaderError(f"{path}: bad CSV content ({exc})") from None

    return TableFile(path, chunks(), os.path.getsize(path), "bytes", positional=False)


# --------------------------------------------------------------------------------------------
# Parquet


def _open_parquet(path: str, columns: Sequence[str] | None, chunk_rows: int) -> TableFile:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ReaderError(
            f"{path}: reading Parquet needs pyarrow, which is not installed (pip install 'mlotel[parquet]')"
        ) from None
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:
        raise ReaderError(f"{path}: not readable as Parquet ({exc})") from None
    names = list(parquet.schema_arrow.names)
    if columns is not None:
        absent = [c for c in columns if c not in names]
        if absent:
            raise ReaderError(f"{path}: no column(s) {absent} (columns: {names[:20]})")

    def chunks() -> Iterator[Chunk]:
        done = 0
        with parquet:
            for batch in parquet.iter_batches(
                batch_size=chunk_rows, columns=list(columns) if columns else None
            ):
                # Numbers as numpy, text dictionary-encoded in C: no Python str per row.
                data = {name: arrow_column(column) for name, column in zip(batch.schema.names, batch.columns)}
                done += batch.num_rows
                yield Chunk(data, done)

    return TableFile(path, chunks(), parquet.metadata.num_rows, "rows", positional=False)


# --------------------------------------------------------------------------------------------
# .npy


def _open_npy(path: str, chunk_rows: int) -> TableFile:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:
        raise ReaderError(f"{path}: not readable as a .npy array ({exc})") from None
    if array.dtype.names is None and array.ndim == 1:
        array = array.reshape(-1, 1)  # one feature, one value per row
    if array.ndim not in (1, 2):
        raise ReaderError(f"{path}: a {array.ndim}-D array has no rows-by-features reading")
    n = array.shape[0]

    def chunks() -> Iterator[Chunk]:
        for start in range(0, n, chunk_rows):
            stop = min(start + chunk_rows, n)
            # A copy, so the mapped pages of finished chunks are not kept referenced.
            yield Chunk(np.array(array[start:stop]), stop)

    return TableFile(path, chunks(), n, "rows", positional=array.dtype.names is None)


# --------------------------------------------------------------------------------------------
# Progress


class Progress:
    """Progress of a long read on stderr: tqdm when installed, else one updating line.

    Shown only when ``enabled`` (the CLI enables it for a TTY stderr, or with
    ``--progress``), and only once the run has lasted ``delay`` seconds, so short runs
    print nothing.
    """

    def __init__(
        self,
        total: int,
        unit: str,
        label: str,
        *,
        enabled: bool,
        delay: float = 1.0,
        stream: TextIO | None = None,
    ) -> None:
        self.total, self.unit, self.label = max(int(total), 0), unit, label
        self.enabled = enabled
        self.delay = delay
        self.stream = stream if stream is not None else sys.stderr
        self._start = time.monotonic()
        self._last = 0.0
        self._shown = False
        self._bar: Any = None
        self._position = 0

    def update(self, position: int) -> None:
        """Record that ``position`` (in :attr:`unit`) of :attr:`total` is done."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._start < self.delay:
            self._position = position
            return
        if self._bar is None and not self._shown:
            self._bar = self._tqdm()
            self._shown = True
        if self._bar is not None:
            self._bar.update(max(position - self._position, 0))
        elif now - self._last >= 0.2:
            self._last = now
            self.stream.write(f"\r{self._line(position)}")
            self.stream.flush()
        self._position = position

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._shown:
            self.stream.write(f"\r{self._line(self._position)}\n")
            self.stream.flush()

    def _tqdm(self) -> Any:
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        scale = self.unit == "bytes"
        bar = tqdm(
            total=self.total or None,
            unit="B" if scale else " rows",
            unit_scale=True,
            unit_divisor=1024 if scale else 1000,
            desc=self.label,
            file=self.stream,
            leave=True,
        )
        bar.update(self._position)
        return bar

    def _line(self, position: int) -> str:
        done = _human(position, self.unit)
        if not self.total:
            return f"{self.label}: {done}"
        percent = min(100.0, 100.0 * position / self.total)
        return f"{self.label}: {percent:5.1f}% ({done} of {_human(self.total, self.unit)})"


def _human(amount: int, unit: str) -> str:
    if unit != "bytes":
        return f"{amount:,} {unit}"
    value = float(amount)
    for suffix in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or suffix == "GiB":
            return f"{value:.0f} {suffix}" if suffix == "B" else f"{value:.1f} {suffix}"
        value /= 1024
    return f"{amount} B"  # pragma: no cover
