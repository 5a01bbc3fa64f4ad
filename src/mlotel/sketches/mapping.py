"""Exact OTLP base-2 exponential bucket mapping.

At scale ``s`` the base is ``2 ** (2 ** -s)`` and bucket ``i`` covers the half-open
interval ``(base**i, base**(i + 1)]``, i.e. ``index = ceil(log_base(v)) - 1``.  Exact
powers of two therefore fall in the bucket *below* them, as in the OTLP data model.

Everything here works on the IEEE-754 bits of float64 values, so indices are exact
(not subject to ``log()`` rounding) for every scale in ``MIN_SCALE..MAX_SCALE``:

* For ``s <= 0`` the biased exponent of ``bits - 1`` *is* the index at scale 0
  (subtracting one moves an exact power of two into the bucket below), and lower
  scales shift it right.
* For ``s > 0`` an octave splits into ``2 ** s`` buckets whose inner boundaries
  ``2 ** (k / 2**s)`` are irrational, so never a double.  We precompute, with
  256-bit fixed-point integer arithmetic and a verified error margin, the integer
  mantissa thresholds ``T_k = floor((2 ** (k / 2**s) - 1) * 2**52)``; a value whose
  ``bits - 1`` has mantissa field ``M`` lies above boundary ``k`` iff ``M >= T_k``.

Subnormal values (and ``2**-1022`` itself) map to the bucket whose upper bound is
``2**-1022``, exactly as the OpenTelemetry SDKs (Go, Python, Java) do.
"""

from __future__ import annotations

import functools
import math
import struct

import numpy as np

__all__ = ["MIN_SCALE", "MAX_SCALE", "map_to_index", "lower_boundary", "index_of"]

MIN_SCALE = -10
MAX_SCALE = 20

_MANTISSA_BITS = 52
_MANTISSA_MASK = (1 << _MANTISSA_BITS) - 1
_EXP_BIAS = 1023
_ONE_MANTISSA = 1 << _MANTISSA_BITS  # T_{2**s}: sentinel "no further boundary in this octave"

# Fixed-point precision for the boundary computation and chunking of the cache.
_FRAC_BITS = 256
_CHUNK = 1024
# Worst-case accumulated error of a chunk is < 2**14 units of 2**-256 in B_k, hence
# < 2**66 units in (B_k - 1) * 2**52; demand a far larger distance to any integer.
_MARGIN = 1 << 80
_DOUBLE = struct.Struct("<d")
_BITS = struct.Struct("<Q")


def _check_scale(scale: int) -> int:
    scale = int(scale)
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise ValueError(f"scale must be in [{MIN_SCALE}, {MAX_SCALE}], got {scale}")
    return scale


@functools.cache
def _roots(scale: int) -> tuple[int, ...]:
    """``A[i] ~= 2 ** (2 ** -i) * 2**256`` (floor, error <= 2 units) for i in 0..scale."""
    roots = [2 << _FRAC_BITS]
    for _ in range(scale):
        roots.append(math.isqrt(roots[-1] << _FRAC_BITS))
    return tuple(roots)


@functools.lru_cache(maxsize=256)  # 256 chunks of 1024 thresholds: at most 2 MiB
def _threshold_chunk(scale: int, chunk: int) -> np.ndarray:
    """Exact ``T_k`` for ``k`` in ``[chunk * 1024, (chunk + 1) * 1024)`` clipped to ``[0, 2**s]``."""
    roots = _roots(scale)
    one = 1 << _FRAC_BITS
    frac_mask = one - 1
    k0 = chunk * _CHUNK
    k1 = min(k0 + _CHUNK, (1 << scale) + 1)
    b = one
    for bit in range(scale):
        if (k0 >> bit) & 1:
            b = (b * roots[scale - bit]) >> _FRAC_BITS
    step = roots[scale]
    out = np.empty(k1 - k0, dtype=np.int64)
    for pos, k in enumerate(range(k0, k1)):
        if k == 0:
            out[pos] = 0
        elif k == 1 << scale:
            out[pos] = _ONE_MANTISSA
        else:
            x = (b - one) << _MANTISSA_BITS
            frac = x & frac_mask
            if frac < _MARGIN or frac > one - _MARGIN:  # pragma: no cover - never observed
                raise ArithmeticError(f"boundary {k} at scale {scale} too close to a double")
            out[pos] = x >> _FRAC_BITS
        b = (b * step) >> _FRAC_BITS
    out.setflags(write=False)
    return out


def _thresholds(scale: int, ks: np.ndarray) -> np.ndarray:
    """Vectorized ``T_k`` lookup (``k`` in ``[0, 2**scale]``)."""
    ks = np.asarray(ks, dtype=np.int64)
    chunks = ks // _CHUNK
    first, last = int(chunks.min()), int(chunks.max())
    if first == last:
        return _threshold_chunk(scale, first)[ks - first * _CHUNK]
    # Only the chunks actually touched (a window may straddle an octave boundary).
    out = np.empty(ks.shape, dtype=np.int64)
    for c in np.unique(chunks).tolist():
        sel = chunks == c
        out[sel] = _threshold_chunk(scale, c)[ks[sel] - c * _CHUNK]
    return out


def _octave_position(scale: int, mantissa: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For mantissa fields ``M`` (of ``bits - 1``) return ``(j, T_{j+1})``.

    ``j = #{1 <= k < 2**s : T_k <= M}`` is the bucket offset inside the octave and
    ``T_{j+1}`` the next threshold (``2**52`` when none).  A float ``log2`` gives ``j``
    to within one; the exact integer thresholds then settle it.
    """
    mantissa = np.asarray(mantissa, dtype=np.int64)
    n = 1 << scale
    approx = np.floor(np.log2(1.0 + np.ldexp(mantissa.astype(np.float64), -_MANTISSA_BITS)) * n)
    kf = np.clip(approx.astype(np.int64), 1, n - 1)
    j = (
        kf
        - 1
        + (_thresholds(scale, kf) <= mantissa)
        + (_thresholds(scale, np.minimum(kf + 1, n)) <= mantissa)
    )
    return j, _thresholds(scale, j + 1)


@functools.lru_cache(maxsize=32)
def sub_octave_table(scale: int, fine_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of the ``2**fine_bits`` equal slices of an octave's mantissa range:
    the bucket offset ``j`` at the slice start and the in-slice threshold (0 if the
    slice lies inside one bucket).  Requires ``fine_bits > scale`` so each slice holds
    at most one boundary (boundaries are >= ln(2) / 2**s apart in mantissa units)."""
    shift = _MANTISSA_BITS - fine_bits
    starts = np.arange(1 << fine_bits, dtype=np.int64) << shift
    j, nxt = _octave_position(scale, starts)
    split = nxt <= starts + ((1 << shift) - 1)
    thr = np.where(split, nxt, 0)
    j.setflags(write=False)
    thr.setflags(write=False)
    return j, thr


def _subnormal_index(scale: int) -> int:
    """Index of the bucket ending at ``2**-1022``; every subnormal maps here."""
    return ((1 - _EXP_BIAS) << scale) - 1 if scale > 0 else -_EXP_BIAS >> -scale


def map_to_index(values: np.ndarray, scale: int) -> np.ndarray:
    """Map positive finite float64 values to bucket indices at ``scale`` (int64, exact).

    Behaviour is undefined for zero, negative, infinite or NaN inputs.
    """
    scale = _check_scale(scale)
    x1 = np.ascontiguousarray(values, dtype=np.float64).view(np.int64) - 1
    exponent = x1 >> _MANTISSA_BITS
    if scale <= 0:
        return (exponent - _EXP_BIAS) >> -scale
    index = np.full(x1.shape, _subnormal_index(scale), dtype=np.int64)
    normal = exponent != 0
    if normal.any():
        exponent = exponent[normal]
        j, _ = _octave_position(scale, x1[normal] & _MANTISSA_MASK)
        index[normal] = ((exponent - _EXP_BIAS) << scale) + j
    return index


def float_bits(value: float) -> int:
    """IEEE-754 bits of a float as a Python int."""
    return _BITS.unpack(_DOUBLE.pack(value))[0]


def index_of_bits(bits: int, scale: int) -> int:
    """Scalar index for a positive finite float given by its IEEE bits (pure Python)."""
    x1 = bits - 1
    exponent = x1 >> _MANTISSA_BITS
    if scale <= 0:
        return (exponent - _EXP_BIAS) >> -scale
    if exponent == 0:
        return _subnormal_index(scale)
    mantissa = x1 & _MANTISSA_MASK
    n = 1 << scale
    kf = min(max(int(math.log2(1.0 + mantissa * 2.0**-52) * n), 1), n - 1)
    lo = int(_threshold_chunk(scale, kf // _CHUNK)[kf % _CHUNK])
    k2 = kf + 1
    hi = int(_threshold_chunk(scale, k2 // _CHUNK)[k2 % _CHUNK])
    return ((exponent - _EXP_BIAS) << scale) + kf - 1 + (lo <= mantissa) + (hi <= mantissa)


def lowest_bits(index: int, scale: int) -> int:
    """Smallest IEEE bits of a positive double that maps to ``index`` or above at
    ``scale`` (the inverse of :func:`index_of_bits` on bucket starts): 1 when every
    positive double does, the bits of ``inf`` when no finite one does."""
    if scale <= 0:
        exponent, k = index << -scale, 0
    else:
        exponent, k = index >> scale, index & ((1 << scale) - 1)
    biased = exponent + _EXP_BIAS
    if biased < 1:
        return 1
    if biased > 2046:
        return 0x7FF << _MANTISSA_BITS
    threshold = 0 if k == 0 else int(_threshold_chunk(scale, k // _CHUNK)[k % _CHUNK])
    return ((biased << _MANTISSA_BITS) | threshold) + 1


def index_of(value: float, scale: int) -> int:
    """Scalar :func:`map_to_index` for one positive finite float."""
    return index_of_bits(float_bits(value), _check_scale(scale))


def lower_boundary(index: int | np.ndarray, scale: int) -> float | np.ndarray:
    """``base ** index``: exact for ``scale <= 0``, within 1 ulp for ``scale > 0``.

    Indices below the smallest normal bucket give (possibly subnormal or zero)
    results; the top index at a scale gives ``inf`` only where ``base**index`` overflows.
    """
    scale = _check_scale(scale)
    idx = np.asarray(index, dtype=np.int64)
    with np.errstate(over="ignore", under="ignore"):
        if scale <= 0:
            out = np.ldexp(1.0, (idx << -scale).astype(np.int64))
        else:
            exponent = idx >> scale
            frac = (idx & ((1 << scale) - 1)).astype(np.float64)
            out = np.ldexp(np.exp2(frac / (1 << scale)), exponent)
    return float(out) if np.ndim(index) == 0 else out
