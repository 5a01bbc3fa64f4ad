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
Zeros and mixed signs are not filtered out: they are relocated by the key arithmetic
(:func:`bucket_same_sign_zeros`, :func:`bucket_mixed`).
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
_MAGNITUDE = np.uint64(_SIGN - 1)
# Octave tables are cached per scale up to this scale (2**(s+5) entries each).
_TABLE_MAX_SCALE = 12
# Elements per pass of a multi-pass key computation (512 KiB of uint64: stays in L2).
_CHUNK = 1 << 16


def fine_bits(scale: int) -> int:
    return 0 if scale <= 0 else scale + EXTRA_BITS


def window_bounds(scale: int, low_bits: int, high_bits: int) -> tuple[int, int]:
    """Fine-key window ``[f_lo, f_hi]`` covering magnitudes ``low..high`` (IEEE bits),
    widened to whole octaves (or 4096-slice blocks), or to a recent window that covers
    it (see :func:`_reused`), so that it is reused across batches and its table stays
    cached."""
    shift = _MANT - fine_bits(scale)
    align = min(fine_bits(scale), _ALIGN_BITS)
    f_lo = ((low_bits - 1) >> shift) >> align << align
    f_hi = ((((high_bits - 1) >> shift) >> align) + 1 << align) - 1
    return _reused(scale, f_lo, f_hi) if scale > 0 else (f_lo, f_hi)


# Recently used windows per scale.  A batch's smallest magnitude moves by octaves from one
# batch to the next (the minimum |x| of a normal sample), so exact bounds would build a new
# table (~ms) for most batches of a many-column frame; a recent window covering the batch's
# range, or one widened to cover it too, is used instead when at most _REUSE_WIDTH times as
# wide.  Any window covering the data gives the same counts (stores trim zero ends).  At
# scale <= 0 a window has one key per octave: cheap to build, never worth widening.
_RECENT: dict[int, tuple[tuple[int, int], ...]] = {}
_RECENT_PER_SCALE = 8
_REUSE_WIDTH = 2


def _reused(scale: int, f_lo: int, f_hi: int) -> tuple[int, int]:
    # Tuples replaced whole: threads sketching at once see one list or the other.
    recent = _RECENT.get(scale, ())
    limit = _REUSE_WIDTH * (f_hi - f_lo + 1)
    for lo, hi in recent:
        if lo <= f_lo and f_hi <= hi and hi - lo + 1 <= limit:
            return lo, hi
    for i, (lo, hi) in enumerate(recent):
        u_lo, u_hi = min(lo, f_lo), max(hi, f_hi)
        if u_hi - u_lo + 1 <= min(limit, _REUSE_WIDTH * (hi - lo + 1)):
            _RECENT[scale] = (*recent[:i], (u_lo, u_hi), *recent[i + 1 :])
            return u_lo, u_hi
    _RECENT[scale] = ((f_lo, f_hi), *recent[: _RECENT_PER_SCALE - 1])
    return f_lo, f_hi


class _Window(NamedTuple):
    lo: int  # bucket index of the first fine key
    has_top: bool  # last fine key is split: one more bucket above the last key's
    split: np.ndarray  # per fine key: does a bucket boundary fall inside its slice?
    split_keys: np.ndarray  # flatnonzero(split)
    starts: np.ndarray  # first fine key of each bucket from lo up
    ordinal: np.ndarray  # per fine key (and a dump slot past the end): its position in
    # split_keys, -1 if none
    # Per split key, the smallest ``|bits|`` above its boundary (uint64) and the bucket
    # position in the result.  Tables of one entry per split key (1 in 128), not per
    # fine key, keep the cached windows small.
    split_thr: np.ndarray
    split_rel: np.ndarray


@functools.lru_cache(maxsize=32)
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
    split_thr = (thr[split_keys] + 1).astype(np.uint64)
    split_rel = index[split_keys] - index[0]
    for arr in (split, split_keys, starts, split_thr, split_rel):
        arr.setflags(write=False)
    return _Window(
        int(index[0]),
        bool(split[-1]),
        split,
        split_keys,
        starts,
        _ordinals(split, split_keys),
        split_thr,
        split_rel,
    )


def _ordinals(split: np.ndarray, split_keys: np.ndarray) -> np.ndarray:
    """Per fine key, its position in ``split_keys`` (-1 if not split), and a -1 for the
    zeros' dump slot just past the keys."""
    ordinal = np.full(split.size + 1, -1, dtype=np.int32)
    ordinal[split_keys] = np.arange(split_keys.size, dtype=np.int32)
    ordinal.setflags(write=False)
    return ordinal


def _finish(bits: np.ndarray, keys: np.ndarray, fine: np.ndarray, win: _Window) -> tuple[int, np.ndarray]:
    """Bucket counts from fine-key counts, correcting split slices element by element."""
    result = _coarse(fine, win)
    if win.split_keys.size and fine.take(win.split_keys).any():
        _correct(result, win.split, win.ordinal, win.split_thr, win.split_rel, bits, keys)
    return win.lo, result


def _coarse(fine: np.ndarray, win: _Window) -> np.ndarray:
    """Bucket counts with every split slice counted in its lower bucket."""
    # Every bucket from lo up owns at least one fine key (slices are narrower than
    # buckets), so per-bucket sums are run sums over the fine counts.
    result = np.add.reduceat(fine, win.starts)
    return np.append(result, 0) if win.has_top else result


def _correct(
    result: np.ndarray,
    split: np.ndarray,
    ordinal: np.ndarray,
    split_thr: np.ndarray,
    split_rel: np.ndarray,
    bits: np.ndarray,
    keys: np.ndarray,
) -> None:
    """Move elements of split slices whose ``|bits|`` reaches the slice's threshold one
    bucket up (from position ``rel`` in ``result`` to ``rel + 1``), in place.

    Keys past the tables (a dump slot for zeros) are clipped onto the last fine key and
    have ordinal -1, clipped to 0 in turn: a zero's ``|bits| = 0`` is below every
    threshold, so it never moves.
    """
    sel = split.take(keys, mode="clip").nonzero()[0]
    pos = ordinal.take(keys.take(sel), mode="clip")
    up = pos[(bits.take(sel) & _MAGNITUDE) >= split_thr.take(pos, mode="clip")]
    if up.size:
        moved = np.bincount(split_rel.take(up), minlength=result.size)
        result[:-1] -= moved[:-1]
        result[1:] += moved[:-1]


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


def bucket_same_sign_zeros(
    values: np.ndarray, negative: bool, low_bits: int, high_bits: int, scale: int, minus_one: np.ndarray
) -> tuple[tuple[int, np.ndarray], int] | None:
    """Bucket counts ``(offset, counts)`` and the number of zeros for ``values`` of one
    sign (``negative``) that may hold zeros of either sign, with one key pass and one
    bincount: the zeros are never filtered out.

    ``low_bits``/``high_bits``: IEEE bits of the smallest/largest non-zero magnitude;
    ``minus_one = bits - 1`` (uint64, consumed as scratch).  Returns ``None`` (the
    caller filters the zeros instead) when ``scale > 0`` and a subnormal is present.

    In ``bits - 1`` a ``+0.0`` wraps to ``2**64 - 1`` and a ``-0.0`` becomes
    ``2**63 - 1``: after the usual add-and-shift both land past the window (its last
    key lies at or below the top of exponent 2046, see :func:`window_bounds`), and
    are clamped onto a dump key just above it.
    """
    if scale > 0 and low_bits < _MIN_NORMAL_BITS:
        return None
    shift = _MANT - fine_bits(scale)
    f_lo, f_hi = window_bounds(scale, low_bits, high_bits)
    width = f_hi - f_lo + 1
    add = (-(f_lo << shift) - (_SIGN if negative else 0)) & _U64
    keys = np.add(minus_one, np.uint64(add), out=minus_one)
    np.right_shift(keys, np.uint64(shift), out=keys)
    np.minimum(keys, np.uint64(width), out=keys)
    keys = keys.view(np.int64)
    fine = np.bincount(keys, minlength=width + 1)
    counts = _finish(values.view(np.uint64), keys, fine[:width], _window(scale, f_lo, f_hi))
    return counts, int(fine[width])


class _Pair(NamedTuple):
    pos: _Window
    neg: _Window
    # The tables of the positive window followed by those of the negative one.
    split: np.ndarray
    split_keys: np.ndarray
    ordinal: np.ndarray
    split_thr: np.ndarray
    split_rel: np.ndarray  # bucket positions in concatenate((positive, negative result))


@functools.lru_cache(maxsize=32)
def _pair(scale: int, fp: tuple[int, int], fn: tuple[int, int]) -> _Pair:
    """Tables of the positive window followed by those of the negative one."""
    pos, neg = _window(scale, *fp), _window(scale, *fn)
    n_pos = pos.starts.size + pos.has_top  # buckets in the positive result
    split = np.concatenate((pos.split, neg.split))
    split_keys = np.concatenate((pos.split_keys, neg.split_keys + pos.split.size))
    split_thr = np.concatenate((pos.split_thr, neg.split_thr))
    split_rel = np.concatenate((pos.split_rel, neg.split_rel + n_pos))
    for arr in (split, split_keys, split_thr, split_rel):
        arr.setflags(write=False)
    return _Pair(pos, neg, split, split_keys, _ordinals(split, split_keys), split_thr, split_rel)


def bucket_mixed(
    values: np.ndarray,
    pos_bits: tuple[int, int],
    neg_bits: tuple[int, int],
    scale: int,
    minus_one: np.ndarray | None = None,
) -> tuple[tuple[int, np.ndarray], tuple[int, np.ndarray], int] | None:
    """Positive and negative bucket counts and the number of zeros,
    ``((offset, counts), (offset, counts), zeros)``, at ``scale``, with one key pass
    and one bincount: the signs are never separated.

    ``values``: float64, all finite, of both signs, with no subnormal magnitude when
    ``scale > 0``.  ``pos_bits``/``neg_bits``: IEEE bits of the smallest/largest
    non-zero magnitude of each sign.  When ``values`` may hold zeros (either sign),
    pass ``minus_one = bits - 1`` (uint64, consumed as scratch).  Returns ``None``
    (the caller splits the signs instead) when the relocation below would overflow
    64 bits or a ``-0.0`` could land on a valid key, which needs windows spanning
    hundreds of octaves.

    Sign relocation: with ``c = 2**63 + delta``, ``bits + c`` wraps negative values
    (``2**63 + m``) to ``m + delta`` while positive ones (``m``) become
    ``2**63 + delta + m > m``, so ``min(bits + c, bits)`` is ``m`` for positive and
    ``m + delta`` for negative values: the negative window is moved, sign bit gone,
    to just above the positive one, and the usual add-and-shift gives keys
    ``0..Wp-1`` (positive) and ``Wp..Wp+Wn-1`` (negative).  Zeros land far above
    and are clamped onto a dump key ``Wp+Wn``.
    """
    shift = _MANT - fine_bits(scale)
    fp = window_bounds(scale, *pos_bits)
    fn = window_bounds(scale, *neg_bits)
    wp, total = fp[1] - fp[0] + 1, fp[1] - fp[0] + fn[1] - fn[0] + 2
    delta = (fp[1] + 1 - fn[0]) << shift
    # Positive m + c must not wrap; |delta| < 2**63 keeps the negative side right.
    if pos_bits[1] + max(delta, 0) >= _SIGN or -delta >= _SIGN:
        return None
    # -0.0 ends at key (delta - 1 - (fp[0] << shift)) >> shift: a valid key iff delta > 0
    # and that is below total; everything else out of range lands at or above total.
    if minus_one is not None and delta > 0 and fn[0] < wp:
        return None
    bits = values.view(np.uint64)
    c = np.uint64((_SIGN + delta + (minus_one is not None)) & _U64)
    a = np.uint64(-(1 + (fp[0] << shift)) & _U64)
    sh, dump = np.uint64(shift), np.uint64(total)
    keys = np.empty_like(bits) if minus_one is None else minus_one
    source = bits if minus_one is None else minus_one
    # In chunks: the four passes then reread ``bits`` from cache, not memory.
    for i in range(0, bits.size, _CHUNK):
        k, b = keys[i : i + _CHUNK], bits[i : i + _CHUNK]
        np.add(source[i : i + _CHUNK], c, out=k)
        np.minimum(k, b, out=k)
        np.add(k, a, out=k)
        np.right_shift(k, sh, out=k)
        if minus_one is not None:
            np.minimum(k, dump, out=k)
    keys = keys.view(np.int64)
    fine = np.bincount(keys, minlength=total + 1)
    pair = _pair(scale, fp, fn)
    result = np.concatenate((_coarse(fine[:wp], pair.pos), _coarse(fine[wp:total], pair.neg)))
    if pair.split_keys.size and fine.take(pair.split_keys).any():
        _correct(result, pair.split, pair.ordinal, pair.split_thr, pair.split_rel, bits, keys)
    n_pos = pair.pos.starts.size + pair.pos.has_top
    return (pair.pos.lo, result[:n_pos]), (pair.neg.lo, result[n_pos:]), int(fine[total])
