"""How much a figure moves within its own run: the regression gate's margin is measured, not assumed.

A figure's *noise* is the interquartile spread of its repeats relative to their median
((Q3 - Q1) / median): half of the repeats fall inside it. A repeat is whatever the figure takes the
median of - a fresh process for a cold start, a batch for the worker overhead, a repetition of the
batch comparison. For the per-request CPU figures a repeat is a block of consecutive requests
(:func:`block_noise`): one request's spread is far wider than that of the median of thousands, and
the blocks also show a neighbour's load coming and going during the run.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

__all__ = ["BLOCKS", "block_noise", "combined", "relative_iqr"]

#: Blocks the per-request samples are cut into for :func:`block_noise`.
BLOCKS = 10


def relative_iqr(values: Sequence[float]) -> float | None:
    """(Q3 - Q1) / median of ``values``; ``None`` with fewer than two values or a zero median."""
    if len(values) < 2:
        return None
    middle = statistics.median(values)
    if middle == 0:
        return None
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return (q3 - q1) / abs(middle)


def block_noise(samples: Sequence[float], blocks: int = BLOCKS) -> float | None:
    """:func:`relative_iqr` of the medians of ``blocks`` consecutive, equal blocks of ``samples``
    (the tail that does not fill a block is left out); ``None`` when there are too few samples."""
    size = len(samples) // blocks
    if blocks < 2 or size < 1:
        return None
    return relative_iqr([statistics.median(samples[i * size : (i + 1) * size]) for i in range(blocks)])


def combined(*noises: float | None) -> float | None:
    """The noise of a ratio (or product) of independently measured figures: their relative spreads
    added in quadrature. ``None`` when none of them was measured."""
    known = [n for n in noises if n is not None]
    if not known:
        return None
    return math.sqrt(sum(n * n for n in known))
