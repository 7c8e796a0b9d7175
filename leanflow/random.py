"""Named random streams, all derived from one SeedSequence per replication.

A stream is identified by the replication, a source of randomness (a lead
source's name, or ``role:<name>`` for a role's people) and a kind of draw, so adding a role or changing a plan never
shifts another stream: two plans on the same seed see the same leads (common
random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np

STREAM_KINDS = ("arrivals", "attributes", "efforts", "buyer_waits", "outcomes", "attrition", "recycling")


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """The SeedSequence of one replication; independent of how many run."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def stream(rep: np.random.SeedSequence, source: str, kind: str) -> np.random.Generator:
    """The generator for one kind of draw of one source in one replication."""
    if kind not in STREAM_KINDS:
        raise ValueError(f"unknown stream kind {kind!r}")
    key = (*rep.spawn_key, zlib.crc32(source.encode()), STREAM_KINDS.index(kind))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(rep.entropy, spawn_key=key)))
