"""Vectorized batch bucketing on float64 bits (no sorting, no log, one bincount).

We bincount *fine keys* -- ``(|bits| - 1) >> (52 - L)``, the biased exponent plus the
top ``L`` mantissa bits.  At scale ``s <= 0`` we use ``L = 0``: a fine key is then an
exact scale-0 index.  At ``s > 0`` we use ``L = s + 7``: every fine slice lies inside
one bucket except those holding one of the (irrational) bucket boundaries, about 1 in
128, and only elements in such *split* slices are compared with the exact integer
threshold from :mod:`mlotel.sketches.mapping`.  The result therefore equals
``bincount(map_to_index(values, s))`` exactly.

Per element: one add (which also subtracts the window start), one shift, one
bincount over the occupied window, and one byte-table lookup for the split check.
Callers split a batch by sign first.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from mlotel.sketches.mapping import _octave_position, _subnormal_index, sub_octave_table

EXTRA_BITS = 7
_ALIGN_BITS = 12
_MANT = 52
_SIGN = 1 << 63
_U64 = (1 << 64) - 1
_MIN_NORMAL_BITS = 1 << _MANT  # bits of 2**-1022
# Octave tables are cached per scale up to this scale (2**(s+5) entries each).
_TABLE_MAX_SCALE = 12


def fine_bits(scale: int) -> int:
    return 0 if scale <= 0 else scale + EXTRA_BITS


def window_bounds(scale: int, low_bits: int, high_bits: int) -> tuple[int, int]:
    """Fine-key window ``[f_lo, f_hi]`` covering magnitudes ``low..high`` (IEEE bits),
    widened to whole octaves (or 4096-slice blocks) so that it is reused across
    batches and its table stays cached."""
    shift = _MANT - fine_bits(scale)
    align = min(fine_bits(scale), _ALIGN_BITS)
    f_lo = ((low_bits - 1) >> shift) >> align << align
    f_hi = ((((high_bits - 1) >> shift) >> align) + 1 << align) - 1
    return f_lo, f_hi


class _Window(NamedTuple):
    lo: int  # bucket index of the first fine key
    has_top: bool  # last fine key is split: one more bucket above index[-1]
    index: np.ndarray  # bucket index at the start of each fine key
    thr: np.ndarray  # split threshold in |bits| - 1 space, 0 where not split
    split: np.ndarray  # thr != 0
    split_keys: np.ndarray  # flatnonzero(split)
    starts: np.ndarray  # first fine key of each bucket lo..index[-1]


@functools.lru_cache(maxsize=64)
def _window(scale: int, f_lo: int, f_hi: int) -> _Window:
    """Bucket table for fine keys ``f_lo..f_hi`` at ``scale``."""
    bits = fine_bits(scale)
    keys = np.arange(f_lo, f_hi + 1, dtype=np.int64)
    exponent = keys >> bits
    if scale <= 0:
        index = (exponent - 1023) >> -scale
        thr = np.zeros(keys.size, dtype=np.int64)
    else:
        sub = keys & ((1 << bits) - 1)
        if scale <= _TABLE_MAX_SCALE:
            j_table, thr_table = sub_octave_table(scale, bits)
            j, thr = j_table[sub], thr_table[sub]
        else:
            shift = _MANT - bits
            slice_starts = sub << shift
            j, nxt = _octave_position(scale, slice_starts)
            thr = np.where(nxt <= slice_starts + ((1 << shift) - 1), nxt, 0)
        index = ((exponent - 1023) << scale) + j
        subnormal = exponent == 0
        if subnormal.any():
            index[subnormal] = _subnormal_index(scale)
            thr = np.where(subnormal, 0, thr)
        thr = np.where(thr != 0, (exponent << _MANT) | thr, 0)
    split = thr != 0
    split_keys = np.flatnonzero(split)
    starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    for arr in (index, thr, split, split_keys, starts):
        arr.setflags(write=False)
    return _Window(int(index[0]), bool(split[-1]), index, thr, split, split_keys, starts)


def _finish(bits: np.ndarray, keys: np.ndarray, fine: np.ndarray, win: _Window) -> tuple[int, np.ndarray]:
    """Bucket counts from fine-key counts, correcting split slices element by element."""
    # Every bucket lo..index[-1] owns at least one fine key (slices are narrower than
    # buckets), so per-bucket sums are run sums over the fine counts.
    result = np.add.reduceat(fine, win.starts)
    if win.has_top:
        result = np.append(result, 0)
    if win.split_keys.size and fine.take(win.split_keys).any():
        sel = np.flatnonzero(win.split.take(keys))
        sel_keys = keys.take(sel)
        x1 = (bits.take(sel) & np.uint64(_SIGN - 1)).view(np.int64) - 1
        up_keys = sel_keys[x1 >= win.thr.take(sel_keys)]
        if up_keys.size:
            moved = np.bincount(win.index.take(up_keys) - win.lo, minlength=result.size)
            result[:-1] -= moved[:-1]
            result[1:] += moved[:-1]
    return win.lo, result


def bucket_same_sign(
    values: np.ndarray, negative: bool, low_bits: int, high_bits: int, scale: int
) -> tuple[int, np.ndarray]:
    """Bucket counts ``(offset, counts)`` at ``scale`` for ``values``.

    ``values``: float64, all finite, non-zero and of one sign (``negative``).
    ``low_bits``/``high_bits``: IEEE bits of the smallest/largest magnitude present.
    """
    shift = _MANT - fine_bits(scale)
    bits = values.view(np.uint64)
    if scale > 0 and low_bits < _MIN_NORMAL_BITS:
        # Every subnormal shares the bucket of 2**-1022; clamp so the window stays small.
        floor = _MIN_NORMAL_BITS + (_SIGN if negative else 0)
        values = np.maximum(bits, np.uint64(floor)).view(np.float64)
        bits = values.view(np.uint64)
        low_bits, high_bits = _MIN_NORMAL_BITS, max(high_bits, _MIN_NORMAL_BITS)
    f_lo, f_hi = window_bounds(scale, low_bits, high_bits)
    add = (-(1 + (f_lo << shift)) - (_SIGN if negative else 0)) & _U64
    keys = np.add(bits, np.uint64(add))
    np.right_shift(keys, np.uint64(shift), out=keys)
    keys = keys.view(np.int64)
    fine = np.bincount(keys, minlength=f_hi - f_lo + 1)
    return _finish(bits, keys, fine, _window(scale, f_lo, f_hi))
