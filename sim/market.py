"""The market: buyer arrivals and buyer attributes, drawn from the market's own streams.

Buyers are generated in chunks, vectorized, from streams that no organization design
touches. Every design in a replication therefore meets the same buyers at the same
times with the same attributes and the same decision draws (common random numbers).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .schema import Scenario
from .seasonality import Season, season_of
from .streams import Streams

__all__ = ["ENDOGENOUS_ID_BASE", "INSTALLED_ID_BASE", "Buyer", "MarketPlan", "buyer_chunks", "endogenous_buyer", "expected_buyers",
           "plan_for", "scheduled_buyers"]

#: Buyers the organization creates itself (outbound, referrals) are numbered from here.
ENDOGENOUS_ID_BASE = 1_000_000_000
#: Customers of the installed base are numbered from here (in segment order, then their index).
INSTALLED_ID_BASE = 2_000_000_000

_CHUNK = 2048
_NAN = float("nan")
#: How long after its last arrival a chunk's table of draws is shared by buyers still in their
#: first research: one who researches past then takes a copy of its own row at arrival, so the
#: table is freed days after the chunk instead of when its slowest researcher is done (months,
#: and at a million buyers a year hundreds of chunks held at once). Memory only: the draws are
#: the same numbers either way.
SHARED_DRAWS_DAYS = 7.0


class Buyer:
    """One buyer: attributes fixed by the market, outcome written by the journey."""

    __slots__ = (
        "id", "key", "arrive_at", "channel", "segment", "acv", "fit", "rep_free", "averse", "patience",
        "research_time", "team_u", "u", "z", "work", "deliberation",
        # outcome
        "state", "reason", "lost_at", "lost_activity", "contact_at", "first_response_wait",
        "won_at", "churned_at", "arr", "handoffs", "context_losses", "ttv", "ttv_missed",
        "last_performer", "context_lost", "source", "score", "community", "at_risk", "life", "_draws", "_row",
    )

    id: int
    #: What this buyer's keyed draws are keyed by (sim.streams.Streams.keyed): the id for a
    #: market buyer, a key derived from who created it and when for the others.
    key: int
    arrive_at: float
    channel: str
    segment: str
    acv: float
    fit: float
    rep_free: bool
    averse: bool
    patience: float
    research_time: float
    team_u: float
    #: Uniforms (see MarketPlan), normals, acquisition then nurture work, deliberation: typed
    #: arrays of doubles (8 bytes a value, where a list of floats takes 32, and nothing for the
    #: garbage collector to track); indexing one gives the same Python float as a list would.
    u: Sequence[float]
    z: Sequence[float]
    work: Sequence[float]
    deliberation: Sequence[float]
    state: str
    reason: str
    lost_at: float
    lost_activity: str
    contact_at: float
    first_response_wait: float
    won_at: float
    churned_at: float
    arr: float
    handoffs: int
    context_losses: int
    ttv: float
    ttv_missed: bool
    last_performer: tuple[str, int] | None
    context_lost: bool
    source: str
    score: float
    community: bool
    at_risk: bool
    #: The customer's keyed draws after signature (sim.customer), once won.
    life: Any
    _draws: _ChunkDraws | None
    _row: int

    def __init__(self) -> None:
        self.state = "in_flight"
        self.reason = ""
        self.lost_at = _NAN
        self.lost_activity = ""
        self.contact_at = _NAN
        self.first_response_wait = _NAN
        self.won_at = _NAN
        self.churned_at = _NAN
        self.arr = 0.0
        self.handoffs = 0
        self.context_losses = 0
        self.ttv = _NAN
        self.ttv_missed = False
        self.last_performer = None
        self.context_lost = False
        self.source = "inbound"
        self.score = _NAN
        self.community = False
        self.at_risk = False
        self.life = None
        # The chunk's journey draws and this buyer's row in them, until engage() reads it.
        self._draws = None
        self._row = 0

    def engage(self) -> None:
        """Copy this buyer's row of journey draws into its own typed arrays, once, when first
        needed.

        Most buyers never talk to sales; they only ever read the first few uniforms (their
        own array from the start), so the rest stays in the chunk's table.
        """
        draws = self._draws
        if draws is not None:
            row = draws.table[self._row]
            a, b, c = draws.cuts
            self.u, self.z = array("d", row[:a].tobytes()), array("d", row[a:b].tobytes())
            self.work, self.deliberation = array("d", row[b:c].tobytes()), array("d", row[c:].tobytes())
            self._draws = None

    def detach(self) -> None:
        """Keep only this buyer's row of the chunk's draws (a buyer who keeps researching may
        outlive every other buyer of the chunk by months; the chunk's table need not)."""
        draws = self._draws
        if draws is not None and len(draws.table) > 1:
            self._draws = draws.row(self._row)
            self._row = 0

    def research_until(self, end: float) -> None:
        """This buyer reads no more of its draws before ``end`` (its first research): past its
        chunk's sharing window (``SHARED_DRAWS_DAYS``) it keeps its own row instead."""
        draws = self._draws
        if draws is not None and end > draws.shared_until:
            self.detach()

    def work_at(self, col: int) -> float:
        """Column ``col`` of ``work``, without turning the whole row into floats (for a buyer who
        may never talk to sales)."""
        draws = self._draws
        if draws is None:
            return self.work[col]
        return float(draws.table[self._row, draws.cuts[1] + col])


class _ChunkDraws:
    """A chunk's journey draws (uniforms, normals, work, deliberation side by side), kept as
    one array until a buyer needs their row."""

    __slots__ = ("table", "cuts", "shared_until")

    def __init__(self, u: np.ndarray, z: np.ndarray, work: np.ndarray, deliberation: np.ndarray,
                 shared_until: float = math.inf):
        self.table = np.hstack([u, z, work, deliberation])
        a = u.shape[1]
        self.cuts = (a, a + z.shape[1], a + z.shape[1] + work.shape[1])
        #: Buyers who need no more of it before this time share the table (Buyer.research_until).
        self.shared_until = shared_until

    def row(self, i: int) -> _ChunkDraws:
        """Row ``i`` alone, copied (so this chunk's table can be freed)."""
        one = _ChunkDraws.__new__(_ChunkDraws)
        one.table = self.table[i:i + 1].copy()
        one.cuts = self.cuts
        one.shared_until = math.inf
        return one


@dataclass(frozen=True)
class MarketPlan:
    """Column layout of each buyer's decision draws, fixed by the market (not the design).

    ``u`` holds uniforms: ``contact`` and ``keep`` slots for each research round and the
    buyer-hours slot (the early slots, read before a buyer talks to sales), then four slots
    per journey activity (handoff drop, context loss, pass, loss reason), then the trial's
    two (activation, payment). ``z`` holds two standard normals per activity: the error in
    judging fit, then the error in predicting deal value. ``work`` holds the work of each
    acquisition activity, then of each nurture activity in each nurture round.
    """

    activities: tuple[str, ...]
    rounds: int
    #: The market's nurture activities (each has ``rounds`` work columns).
    nurture: tuple[str, ...] = ()
    #: How many acquisition activities (their work columns come first).
    n_acquisition: int = 0

    @property
    def n_early(self) -> int:
        return 2 * (self.rounds + 1) + 1

    @property
    def n_u(self) -> int:
        return self.n_early + 4 * len(self.activities) + 2

    @property
    def trial_slot(self) -> int:
        """First of the trial's two slots: activation, then payment."""
        return self.n_early + 4 * len(self.activities)

    def nurture_work_col(self, activity: str, round_: int) -> int:
        """The ``work`` column of nurture ``activity`` in research round ``round_`` (from 0)."""
        return self.n_acquisition + self.nurture.index(activity) * self.rounds + round_

    @property
    def hours_slot(self) -> int:
        """Whether a buyer waits for their own working hours to ask for contact."""
        return self.n_early - 1

    def contact_slot(self, round_: int) -> int:
        return round_

    def keep_slot(self, round_: int) -> int:
        return self.rounds + 1 + round_

    def activity_slot(self, index: int) -> int:
        """First of the four slots (drop, context loss, pass, reason) of activity ``index``."""
        return self.n_early + 4 * index


def plan_for(scn: Scenario) -> MarketPlan:
    """The draw layout for a scenario's market."""
    m = scn.market
    j = m.journey
    nurture = tuple(a for a, act in m.activities.items() if act.kind == "nurture")
    return MarketPlan(tuple(j.acquisition) + tuple(j.retention), j.max_nurture_rounds, nurture, len(j.acquisition))


def expected_buyers(scn: Scenario) -> float:
    """Mean number of buyers a replication creates (for refusing absurd inputs early)."""
    rate = sum(ch.rate_per_week for ch in scn.market.channels.values()) / 7.0
    season = season_of(scn.market.seasonality)
    if season is not None:
        rate *= season.mean
    scheduled = sum(len(ch.arrivals_at) for ch in scn.market.channels.values())
    return rate * scn.simulation.horizon + scheduled


def expected_outbound(scn: Scenario) -> float:
    """Most outbound meetings a replication can book (pool permitting), for size checks."""
    out = scn.market.outbound
    total = 0.0
    for role in scn.roles.values():
        if role.prospecting_share > 0 and role.peak_headcount > 0:
            attempts_per_day = role.peak_headcount * role.productive_share * role.prospecting_share / out.work_per_attempt
            total += attempts_per_day * out.meeting_probability * scn.simulation.horizon
    return min(total, float(out.target_accounts))


def _mix(scn: Scenario) -> tuple[list[str], list[str], np.ndarray]:
    m = scn.market
    seg_names = list(m.segments)
    chan_names = list(m.channels)
    mix = np.array([[m.segment_mix(m.channels[c].segment_tilt)[s] for s in seg_names] for c in chan_names])
    return seg_names, chan_names, mix


def _draw_buyers(scn: Scenario, rng: np.random.Generator, plan: MarketPlan, arrive: np.ndarray,
                 chan: np.ndarray, first_id: int, source: tuple[str, np.ndarray] | None = None) -> list[Buyer]:
    """Buyers arriving at ``arrive`` through channels ``chan``, attributes drawn in bulk.

    ``source`` = (channel name, segment shares) draws buyers who came another way
    (outbound meetings, referrals) instead of through a market channel.
    """
    m = scn.market
    n = len(arrive)
    if source is None:
        seg_names, chan_names, mix = _mix(scn)
    else:  # the channels' mixes are not needed (a sixth of the time of one such buyer)
        seg_names, chan_names = list(m.segments), [source[0]]
        mix = np.asarray(source[1], dtype=float)[None, :]
        chan = np.zeros(n, dtype=int)
    cum = np.cumsum(mix[chan], axis=1)
    seg = (rng.random(n)[:, None] > cum).sum(axis=1).clip(max=len(seg_names) - 1)
    acq = [m.activities[a] for a in m.journey.acquisition]
    acv = np.empty(n)
    fit = np.empty(n)
    rep_free = np.empty(n, dtype=bool)
    averse = np.empty(n, dtype=bool)
    patience = np.empty(n)
    research = np.empty(n)
    nurture = [m.activities[a] for a in plan.nurture]
    work = np.empty((n, len(acq) + len(nurture) * plan.rounds))
    delib = np.zeros((n, len(acq)))
    # Each attribute is drawn for every buyer and then selected by segment, so that the
    # numbers a buyer gets do not depend on how many buyers fall in other segments.
    for k, sname in enumerate(seg_names):
        s = m.segments[sname]
        pick = seg == k
        acv[pick] = s.acv.sample(rng, n)[pick]
        fit[pick] = np.clip(s.fit.sample(rng, n), 0.0, 1.0)[pick]
        rep_free[pick] = (rng.random(n) < s.rep_free_preference)[pick]
        averse[pick] = (rng.random(n) < s.automation_aversion)[pick]
        patience[pick] = s.patience.sample(rng, n)[pick]
        research[pick] = s.research_time.sample(rng, n)[pick]
        for j, act in enumerate(acq):
            work[pick, j] = (act.work.sample(rng, n) * s.work_scale)[pick]
            if act.deliberation is not None:
                delib[pick, j] = (act.deliberation.sample(rng, n) * s.deliberation_scale)[pick]
    for i, act in enumerate(nurture):  # a nurture touch's work is not scaled by segment
        for r in range(plan.rounds):
            work[:, len(acq) + i * plan.rounds + r] = act.work.sample(rng, n)
    team_u = rng.random(n)
    u = rng.random((n, plan.n_u))
    z = rng.standard_normal((n, 2 * len(plan.activities)))
    draws = _ChunkDraws(u, z, work, delib, float(arrive.max()) + SHARED_DRAWS_DAYS if n else math.inf)
    cols = [arrive.tolist(), chan.tolist(), seg.tolist(), acv.tolist(), fit.tolist(),
            rep_free.tolist(), averse.tolist(), patience.tolist(), research.tolist(),
            team_u.tolist()]
    # The early uniforms (read before a buyer talks to sales), a row of bytes per buyer.
    early, width = np.ascontiguousarray(u[:, :plan.n_early]).tobytes(), 8 * plan.n_early
    out = []
    for i, row in enumerate(zip(*cols)):
        b = Buyer()
        (b.arrive_at, c, sidx, b.acv, b.fit, b.rep_free, b.averse, b.patience,
         b.research_time, b.team_u) = row
        b.u = array("d", early[i * width:(i + 1) * width])
        b._draws = draws
        b._row = i
        b.channel = chan_names[c]
        b.segment = seg_names[sidx]
        b.key = b.id = first_id + i
        out.append(b)
    return out


def endogenous_buyer(scn: Scenario, rng: np.random.Generator, plan: MarketPlan, now: float,
                     channel: str, segment_tilt: dict[str, float] | None, buyer_id: int, key: int) -> Buyer:
    """One buyer created by the organization's own activity (a booked meeting, a referral).

    ``rng`` is the buyer's own keyed generator (``Streams.keyed(key, ...)``), so its
    attributes and journey draws depend on ``key`` (who created it, and when), not on how
    many buyers the organization created before it.
    """
    shares = np.array(list(scn.market.segment_mix(segment_tilt).values()))
    b = _draw_buyers(scn, rng, plan, np.array([now]), np.zeros(1, dtype=int), buyer_id,
                     source=(channel, shares / shares.sum()))[0]
    b.source = channel
    b.key = key
    return b


def scheduled_buyers(scn: Scenario, streams: Streams, plan: MarketPlan) -> list[Buyer]:
    """Buyers at the fixed times of channels with ``arrivals_at`` (ids 0, 1, ...)."""
    chans = list(scn.market.channels)
    times = [(t, k) for k, c in enumerate(chans) for t in scn.market.channels[c].arrivals_at]
    times = sorted(t for t in times if t[0] < scn.simulation.horizon)
    if not times:
        return []
    arrive = np.array([t for t, _ in times], dtype=float)
    chan = np.array([k for _, k in times], dtype=int)
    return _draw_buyers(scn, streams.rng("market.scheduled"), plan, arrive, chan, 0)


def buyer_chunks(scn: Scenario, streams: Streams, plan: MarketPlan, first_id: int = 0) -> Iterator[list[Buyer]]:
    """Yield Poisson-arriving buyers in arrival order, in chunks, until the horizon."""
    m = scn.market
    rates = np.array([ch.rate_per_week for ch in m.channels.values()]) / 7.0
    total = rates.sum()
    if total <= 0:
        return
    chan_p = rates / total
    rng = streams.rng("market.buyers")
    season = season_of(m.seasonality)
    if season is not None:
        yield from _thinned_chunks(scn, rng, plan, chan_p, total, season, first_id)
        return
    t = 0.0
    next_id = first_id
    horizon = scn.simulation.horizon
    while t < horizon:
        # Arrivals of a unit-rate process, compared with the horizon on that clock: a rate so
        # small that its mean gap (1 / total) exceeds the largest float still works exactly.
        unit = np.cumsum(rng.standard_exponential(_CHUNK))
        chan = rng.choice(len(chan_p), size=_CHUNK, p=chan_p)
        limit = (horizon - t) * total
        keep = int(np.searchsorted(unit, limit))
        # Past the horizon only the count matters (each buyer's attributes use the stream).
        arrive = t + np.minimum(unit, limit) / total
        chunk = _draw_buyers(scn, rng, plan, arrive, chan, next_id)[:keep]
        next_id += len(chunk)
        yield chunk
        if keep < _CHUNK:
            return
        t = float(arrive[-1])


def _thinned_chunks(scn: Scenario, rng: np.random.Generator, plan: MarketPlan, chan_p: np.ndarray, total: float,
                    season: Season, first_id: int) -> Iterator[list[Buyer]]:
    """Buyers of a seasonal market, in arrival order, in chunks: a non-homogeneous Poisson stream
    by thinning (Lewis and Shedler). Candidates arrive at the peak rate and each is kept with
    probability (multiplier at its time) / peak, all from the market's stream: every design meets
    the same buyers at the same times."""
    peak_rate = total * season.peak
    if not peak_rate > 0:
        return
    t = 0.0
    next_id = first_id
    horizon = scn.simulation.horizon
    while t < horizon:
        unit = np.cumsum(rng.standard_exponential(_CHUNK))
        chan = rng.choice(len(chan_p), size=_CHUNK, p=chan_p)
        keep_u = rng.random(_CHUNK)
        # Compared with the horizon on the unit clock, as in buyer_chunks.
        inside = int(np.searchsorted(unit, (horizon - t) * peak_rate))
        arrive = t + unit[:inside] / peak_rate
        kept = keep_u[:inside] * season.peak < season.factor(arrive)
        chunk = _draw_buyers(scn, rng, plan, arrive[kept], chan[:inside][kept], next_id)
        next_id += len(chunk)
        yield chunk
        if inside < _CHUNK:
            return
        t = t + float(unit[-1]) / peak_rate
