"""Named random streams derived from one seed, drawn in bulk.

Each purpose (``"market.arrivals.search"``, ``"work.renewal"``...) gets its own stream from
a :class:`numpy.random.SeedSequence`, keyed by a stable hash of its name, so adding a stream
never shifts the numbers of another, and the market is the same for every design.

Draws a buyer or customer meets later, whose number and timing depend on the design
(a customer's renewals, check-ins, expansions, referrals...), come from :meth:`Streams.keyed`:
a counter-based generator (Philox) keyed by the replication seed and the buyer's key, with
the purpose and the block of occurrences in its counter. Its numbers depend on
(seed, buyer, purpose, block) only, never on the order in which events happen, so every
design that meets the same buyer meets the same draws (common random numbers).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["Streams", "Bulk", "derive_key", "replication_seed", "KEY_BASE"]

_CHUNK = 1024


def replication_seed(root: int, replication: int) -> int:
    """The seed of one replication, derived from the experiment's root seed."""
    seq = np.random.SeedSequence(root, spawn_key=(replication,))
    return int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


_MASK = (1 << 64) - 1
#: Keys derived by :func:`derive_key` lie in [KEY_BASE, 2 * KEY_BASE): never a market buyer's id.
KEY_BASE = 1 << 62


def _mix64(x: int) -> int:
    """SplitMix64's finalizer: a bijection of 64-bit integers that scatters every bit."""
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    x = (x ^ (x >> 27)) * 0x94D049BB133111EB & _MASK
    return x ^ (x >> 31)


def derive_key(*parts: int) -> int:
    """A stable key for a buyer the organization creates, from who created it and when
    (e.g. ``(parent key, REFERRAL, renewal k)``): the same parts give the same key in every
    design and run. Keys lie in ``[KEY_BASE, 2 * KEY_BASE)``, apart from market buyers' ids."""
    h = 0x9E3779B97F4A7C15
    for part in parts:
        h = _mix64((h ^ (part & _MASK)) + 0x9E3779B97F4A7C15 & _MASK)
    return KEY_BASE | (h >> 2)


class Streams:
    """Independent generators keyed by purpose, all derived from ``seed``."""

    def __init__(self, seed: int):
        self.seed = seed
        self._cache: dict[str, np.random.Generator] = {}
        # The seed's word in every keyed generator's key (see keyed()).
        word = np.random.SeedSequence(seed, spawn_key=(zlib.crc32(b"keyed"),)).generate_state(1, dtype=np.uint64)
        self._word = int(word[0])
        self._philox = np.random.Philox(key=[self._word, 0])
        self._keyed = np.random.Generator(self._philox)
        # The state keyed() sets, its arrays changed in place (fewer objects made per call).
        self._counter = np.zeros(4, dtype=np.uint64)
        self._key = np.array([self._word, 0], dtype=np.uint64)
        self._state: Any = {  # numpy's _PhiloxState: a plain dict at run time
            "bit_generator": "Philox",
            "state": {"counter": self._counter, "key": self._key},
            "buffer": np.zeros(4, dtype=np.uint64), "buffer_pos": 4, "has_uint32": 0, "uinteger": 0,
        }

    def keyed(self, key: int, purpose: int, block: int = 0) -> np.random.Generator:
        """The generator of draws ``purpose`` of buyer ``key``, occurrences block ``block``.

        Philox keyed by (this seed, ``key``), its counter started at (0, 0, purpose, block):
        different purposes and blocks are disjoint stretches of one stream, and the numbers
        depend on nothing else. One generator object serves every call (resetting its state
        costs a quarter of creating one), so draw what the block needs at once, before the
        next call.
        """
        self._counter[2], self._counter[3] = purpose, block
        self._key[1] = key
        self._philox.state = self._state
        return self._keyed

    def rng(self, name: str) -> np.random.Generator:
        """The generator for ``name`` (created on first use, same object afterwards)."""
        gen = self._cache.get(name)
        if gen is None:
            key = zlib.crc32(name.encode("utf-8"))
            gen = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(key,)))
            self._cache[name] = gen
        return gen

    def bulk(self, name: str, draw: Callable[[np.random.Generator, int], np.ndarray]) -> Bulk:
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

    def __iter__(self) -> Bulk:
        return self
