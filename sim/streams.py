"""Named random streams derived from one seed, drawn in bulk.

Each purpose (``"market.arrivals.search"``, ``"work.renewal"``...) gets its own stream from
a :class:`numpy.random.SeedSequence`, keyed by a stable hash of its name, so adding a stream
never shifts the numbers of another, and the market is the same for every design.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import numpy as np

__all__ = ["Streams", "Bulk", "replication_seed"]

_CHUNK = 1024


def replication_seed(root: int, replication: int) -> int:
    """The seed of one replication, derived from the experiment's root seed."""
    seq = np.random.SeedSequence(root, spawn_key=(replication,))
    return int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


class Streams:
    """Independent generators keyed by purpose, all derived from ``seed``."""

    def __init__(self, seed: int):
        self.seed = seed
        self._cache: dict[str, np.random.Generator] = {}

    def rng(self, name: str) -> np.random.Generator:
        """The generator for ``name`` (created on first use, same object afterwards)."""
        gen = self._cache.get(name)
        if gen is None:
            key = zlib.crc32(name.encode("utf-8"))
            gen = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(key,)))
            self._cache[name] = gen
        return gen

    def bulk(self, name: str, draw: Callable[[np.random.Generator, int], np.ndarray]) -> "Bulk":
        """An endless supply of Python floats from ``draw(rng, n)``, refilled in chunks."""
        return Bulk(self.rng(name), draw)


class Bulk:
    """Serve numpy bulk draws one Python float at a time (``next(bulk)``)."""

    __slots__ = ("_rng", "_draw", "_it")

    def __init__(self, rng: np.random.Generator, draw: Callable[[np.random.Generator, int], np.ndarray]):
        self._rng = rng
        self._draw = draw
        self._it: Iterator[float] = iter(())

    def __next__(self) -> float:
        try:
            return next(self._it)
        except StopIteration:
            self._it = iter(self._draw(self._rng, _CHUNK).tolist())
            return next(self._it)

    def __iter__(self) -> "Bulk":
        return self
