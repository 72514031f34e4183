"""Lucene's BM25 as OpenSearch configures it (LegacyBM25Similarity, k1 = 1.2, b = 0.75).

score = boost * idf * (k1 + 1) * freq / (freq + k1 * (1 - b + b * dl / avgdl))
idf   = ln(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5))
``dl`` is the field length after Lucene's lossy one-byte norm encoding (SmallFloat.intToByte4);
``avgdl`` = sumTotalTermFreq / docCount is exact. Arithmetic is float32 as in Lucene.
"""

from __future__ import annotations

import math

import numpy as np

K1 = 1.2
B = 0.75


def _long_to_int4(i: int) -> int:
    num_bits = i.bit_length()
    if num_bits < 4:
        return i  # subnormal
    shift = num_bits - 4
    encoded = (i >> shift) & 0x07  # 3 mantissa bits, the leading one is implicit
    return encoded | ((shift + 1) << 3)


def _int4_to_long(i: int) -> int:
    bits = i & 0x07
    shift = (i >> 3) - 1
    return bits if shift == -1 else (bits | 0x08) << shift


_MAX_INT4 = _long_to_int4(2**31 - 1)
_NUM_FREE_VALUES = 255 - _MAX_INT4


def int_to_byte4(i: int) -> int:
    """SmallFloat.intToByte4: exact below 24, then 4 significant bits."""
    if i < _NUM_FREE_VALUES:
        return i
    return _NUM_FREE_VALUES + _long_to_int4(i - _NUM_FREE_VALUES)


def byte4_to_int(b: int) -> int:
    if b < _NUM_FREE_VALUES:
        return b
    return _NUM_FREE_VALUES + _int4_to_long(b - _NUM_FREE_VALUES)


LENGTH_TABLE = np.array([byte4_to_int(i) for i in range(256)], dtype=np.float32)


def encode_norm(length: int) -> int:
    return int_to_byte4(length)


def idf(doc_count: int, doc_freq: int) -> np.float32:
    return np.float32(math.log(1 + (doc_count - doc_freq + 0.5) / (doc_freq + 0.5)))


def score(
    freqs: np.ndarray,
    norms: np.ndarray,
    *,
    doc_count: int,
    doc_freq: int,
    sum_total_term_freq: int,
    boost: float = 1.0,
) -> np.ndarray:
    """Vectorised scores of one term over the documents whose freqs and encoded norms are given."""
    avgdl = np.float32(sum_total_term_freq / doc_count) if doc_count else np.float32(1.0)
    weight = np.float32(boost) * np.float32(K1 + 1) * idf(doc_count, doc_freq)
    k1 = np.float32(K1)
    b = np.float32(B)
    norm_inverse = np.float32(1) / (k1 * ((np.float32(1) - b) + b * LENGTH_TABLE[norms] / avgdl))
    f = freqs.astype(np.float32)
    return (weight - weight / (np.float32(1) + f * norm_inverse)).astype(np.float32)
