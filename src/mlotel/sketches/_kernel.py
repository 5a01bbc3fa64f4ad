"""Vectorized batch bucketing on float64 bits (no sorting, no log, one bincount).

For a batch of same-sign finite non-zero values we bincount *fine keys* --
``(|bits| - 1) >> (52 - L)``, i.e. the biased exponent plus the top ``L`` mantissa
bits -- offset so the smallest key is 0.  At scale ``s <= 0`` we use ``L = 0`` and a
fine key is an exact scale-0 index.  At ``s > 0`` we use ``L = s + 5``: every fine slice
then lies inside one bucket except those holding one of the (irrational) bucket
boundaries, about 1 in 32.  Only elements in such *split* slices are compared against
the exact integer threshold (see :mod:`mlotel.sketches.mapping`), so the result equals
``bincount(map_to_index(values, s))`` exactly.

Per element the work is one add, one shift, one bincount and one byte-table lookup.
"""

from __future__ import annotations

import functools

import numpy as np

from mlotel.sketches.mapping import _subnormal_index, _octave_position, sub_octave_table

EXTRA_BITS = 5
_MANT = 52
_SIGN = 1 << 63
_U64 = (1 << 64) - 1
# Octave tables are cached per scale up to this scale (2**(s+5) entries each).
_TABLE_MAX_SCALE = 12


def fine_bits(scale: int) -> int:
    return 0 if scale <= 0 else scale + EXTRA_BITS


@functools.lru_cache(maxsize=64)
def _window(scale: int, f_lo: int, f_hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket index at the start of each fine key in ``[f_lo, f_hi]`` and its split
    threshold in ``bits - 1`` space (0 where the slice is not split)."""
    bits = fine_bits(scale)
    keys = np.arange(f_lo, f_hi + 1, dtype=np.int64)
    exponent = keys >> bits
    if scale <= 0:
        index = (exponent - 1023) >> -scale
        return index, np.zeros(keys.size, dtype=np.int64)
    sub = keys & ((1 << bits) - 1)
    if scale <= _TABLE_MAX_SCALE:
        j_table, thr_table = sub_octave_table(scale, bits)
        j, thr = j_table[sub], thr_table[sub]
    else:
        shift = _MANT - bits
        starts = sub << shift
        j, nxt = _octave_position(scale, starts)
        thr = np.where(nxt <= starts + ((1 << shift) - 1), nxt, 0)
    index = ((exponent - 1023) << scale) + j
    subnormal = exponent == 0
    if subnormal.any():
        index[subnormal] = _subnormal_index(scale)
        thr = np.where(subnormal, 0, thr)
    thr = np.where(thr != 0, (exponent << _MANT) | thr, 0)
    index.setflags(write=False)
    thr.setflags(write=False)
    return index, thr


def bucket_same_sign(
    values: np.ndarray, negative: bool, low_bits: int, high_bits: int, scale: int
) -> tuple[int, np.ndarray]:
    """Bucket counts ``(offset, counts)`` at ``scale`` for ``values``.

    ``values``: float64, all finite, non-zero and of one sign (``negative``).
    ``low_bits``/``high_bits``: IEEE bits of the smallest/largest magnitude present.
    """
    shift = _MANT - fine_bits(scale)
    f_lo = (low_bits - 1) >> shift
    f_hi = (high_bits - 1) >> shift
    add = (-(1 + (f_lo << shift)) - (_SIGN if negative else 0)) & _U64
    keys = np.add(values.view(np.uint64), np.uint64(add))
    np.right_shift(keys, np.uint64(shift), out=keys)
    keys = keys.view(np.int64)
    width = f_hi - f_lo + 1
    fine = np.bincount(keys, minlength=width)
    index, thr = _window(scale, f_lo, f_hi)
    base = int(index[0])
    top = int(index[-1]) + (1 if thr[-1] else 0)
    split = thr != 0
    moved = None
    if split.any() and fine[split].any():
        # Elements in split slices: compare their exact bits with the threshold.
        sel = np.flatnonzero(split.view(np.uint8).take(keys))
        sel_keys = keys[sel]
        x1 = values.view(np.int64)[sel] & (_SIGN - 1)
        x1 -= 1
        up = x1 >= thr[sel_keys]
        moved = np.bincount(sel_keys[up], minlength=width)
    if base == top and moved is None:
        return base, np.array([values.size], dtype=np.int64)
    weights = fine if moved is None else fine - moved
    counts = np.bincount(index - base, weights=weights, minlength=top - base + 1)
    if moved is not None:
        counts[1:] += np.bincount(index - base, weights=moved, minlength=top - base)[: top - base]
    return base, counts.astype(np.int64)
