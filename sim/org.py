"""The organization: roles as staffed queues, pinned teams, and the handoffs between them.

A role is ``headcount`` servers working to a calendar. With ``teams: N`` its headcount is
split into N queues and each buyer is pinned to one of them for life (account teams);
with one team the role is a pooled specialist queue.

First-come-first-served queues need no SimPy resource: when every job's work is known as it
joins, its start is the moment the earliest server frees up (the Kiefer-Wolfowitz workload
recursion), so the buyer sleeps once, until the work is done. A buyer who would start after
their deadline abandons without taking a server, exactly as in a queue with reneging.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Generator
from typing import Any

import simpy

from .calendar import ALWAYS, WorkCalendar, build_calendar
from .events import EventLog
from .market import Buyer
from .schema import Role, Scenario, Transition
from .staffing import Team, attrition_hazard, hire_on_demand, ramp_of, team_steps
from .streams import Bulk, Streams
from .transition import moved_in

__all__ = ["RoleQueue", "build_roles", "Performer", "pickup_stream"]

Performer = tuple[str, int]


class ValueQueue:
    """``capacity`` servers; waiting requests are served lowest ``priority`` first, then in
    arrival order. A heap, so each request and release costs O(log n)."""

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env = env
        self.capacity = capacity
        self.idle = capacity
        self.waiting: list[tuple[float, int, simpy.Event]] = []
        self.count = 0
        self.cancelled: set[simpy.Event] = set()

    def request(self, priority: float) -> simpy.Event:
        """An event that fires when a server is this request's."""
        event = self.env.event()
        if self.idle > 0 and not self.waiting:
            self.idle -= 1
            event.succeed()
        else:
            self.count += 1
            heapq.heappush(self.waiting, (priority, self.count, event))
        return event

    def cancel(self, event: simpy.Event) -> None:
        """Withdraw a request that has not been served (the buyer left)."""
        self.cancelled.add(event)

    def release(self) -> None:
        """A server is free: give it to the next request still waiting."""
        while self.waiting:
            _, _, event = heapq.heappop(self.waiting)
            if event in self.cancelled:
                self.cancelled.discard(event)
                continue
            event.succeed()
            return
        self.idle += 1


class RoleQueue:
    """One role: its queues (one per team), its calendar and its work speed."""

    def __init__(self, env: simpy.Environment, name: str, spec: Role, calendar: WorkCalendar,
                 slowdown: float, pickup: Bulk | None, staffed: list[Team] | None = None):
        self.env = env
        self.name = name
        self.spec = spec
        self.calendar = calendar
        self.teams = spec.teams
        base, extra = divmod(spec.headcount, spec.teams)
        self.capacities = [base + (1 if i < extra else 0) for i in range(spec.teams)]
        # When each server of each team is next free (a heap per team). A role without people
        # has no servers: work that reaches it is an error (see _nobody), never done free.
        self.free_at = [[0.0] * c for c in self.capacities]
        self.is_ai = spec.kind == "ai"
        self.adopt(spec, slowdown, pickup)
        # Serving by predicted value needs a real priority queue (later buyers can go first).
        self.priority = (
            [ValueQueue(env, c) for c in self.capacities]
            if spec.discipline == "predicted_value" and staffed is None else None
        )
        # People joining and leaving over time: one engine for every discipline (sim.staffing).
        self.staffed = staffed

    def _nobody(self, activity: str) -> RuntimeError:
        """Work reached a role with headcount 0: validation missed a way in (sim/scenario.py)."""
        return RuntimeError(f"role {self.name!r} has headcount 0 but was given work ({activity!r}); "
                            "give it people or route that work to another role")

    def team_of(self, buyer: Buyer) -> int:
        """The team a buyer is pinned to (0 for a pooled role)."""
        return int(buyer.team_u * self.teams) if self.teams > 1 else 0

    def perform(self, buyer: Buyer, activity: str, work: float, log: EventLog,
                pickup: bool = False, deadline: float | None = None) -> Generator[Any, Any, float | None]:
        """Queue for the role, then do ``work``; return the start time, or None if the buyer left.

        ``pickup`` marks work new to this role (a first touch or a handoff): a person takes
        ``pickup_delay`` to notice it. With a ``deadline`` the buyer leaves when no one has
        started on them by then (including a start that would fall outside working hours).
        """
        env = self.env
        queued_at = env.now
        log.record(queued_at, buyer.id, "queue", self.name, activity)
        if pickup and self.pickup is not None:
            # A free person still takes a while to pick new work up (inbox, other duties).
            ready = self.calendar.finish_at(queued_at, next(self.pickup))
            if deadline is not None and ready > deadline:
                yield env.timeout(max(0.0, deadline - env.now))
                log.record(env.now, buyer.id, "renege", self.name, activity, env.now - queued_at)
                return None
            yield env.timeout(ready - env.now)
        if self.staffed is not None:
            return (yield from self._staffed(buyer, activity, work, log, queued_at, deadline))
        if self.priority is not None:
            return (yield from self._by_value(buyer, activity, work, log, queued_at, deadline))
        free = self.free_at[self.team_of(buyer)]
        if not free:
            raise self._nobody(activity)
        now = env.now
        calendar = self.calendar
        start = calendar.next_open(max(now, free[0]))
        if deadline is not None and start > deadline:
            yield env.timeout(max(0.0, deadline - now))
            log.record(env.now, buyer.id, "renege", self.name, activity, env.now - queued_at)
            return None
        occupied = work * self.time_per_work
        end = calendar.finish_at(start, occupied)
        heapq.heapreplace(free, end)
        log.record(start, buyer.id, "start", self.name, activity, start - queued_at)
        log.record(end, buyer.id, "end", self.name, activity, occupied)
        yield env.timeout(end - now)
        return start

    def _by_value(self, buyer: Buyer, activity: str, work: float, log: EventLog, queued_at: float,
                  deadline: float | None) -> Generator[Any, Any, float | None]:
        """Serve the highest predicted deal value first (buyers not yet scored: their ACV)."""
        env = self.env
        queue = self.priority[self.team_of(buyer)]  # type: ignore[index]
        if queue.capacity == 0:
            raise self._nobody(activity)
        value = buyer.score if buyer.score == buyer.score else buyer.acv
        req = queue.request(-value)
        if deadline is None:
            yield req
        else:
            yield req | env.timeout(max(0.0, deadline - env.now))
            # A server handed over at the very instant the deadline fires still counts:
            # the buyer is served, as in the FIFO queue.
            if not req.triggered:
                queue.cancel(req)
                log.record(env.now, buyer.id, "renege", self.name, activity, env.now - queued_at)
                return None
        start = self.calendar.next_open(env.now)
        if deadline is not None and start > deadline:
            yield env.timeout(max(0.0, deadline - env.now))
            queue.release()
            log.record(env.now, buyer.id, "renege", self.name, activity, env.now - queued_at)
            return None
        occupied = work * self.time_per_work
        end = self.calendar.finish_at(start, occupied)
        log.record(start, buyer.id, "start", self.name, activity, start - queued_at)
        log.record(end, buyer.id, "end", self.name, activity, occupied)
        yield env.timeout(end - env.now)
        queue.release()
        return start


    def _staffed(self, buyer: Buyer, activity: str, work: float, log: EventLog, queued_at: float,
                 deadline: float | None) -> Generator[Any, Any, float | None]:
        """Queue with people who join, ramp up and leave (sim.staffing), in either discipline."""
        env = self.env
        team = self.staffed[self.team_of(buyer)]  # type: ignore[index]
        job = team.submit(buyer, activity, work * self.time_per_work, self.queue_key(buyer), deadline, queued_at, log)
        if deadline is None:
            yield job.started
        else:
            yield job.started | env.timeout(max(0.0, deadline - env.now))
            if not job.started.triggered:
                team.cancel(job)
                log.record(env.now, buyer.id, "renege", job.role, activity, env.now - queued_at)
                return None
            if job.started.value is None:  # no one could start before the deadline
                yield env.timeout(max(0.0, deadline - env.now))
                log.record(env.now, buyer.id, "renege", job.role, activity, env.now - queued_at)
                return None
        start: float = yield job.done
        return start

    def queue_key(self, buyer: Buyer) -> float:
        """A job's place in a staffed queue: first come first served (every key 0, so the order
        of arrival decides), or the highest predicted value first (buyers not yet scored: their ACV)."""
        return -(buyer.score if buyer.score == buyer.score else buyer.acv) if self.by_value else 0.0

    def adopt(self, spec: Role, slowdown: float, pickup: Bulk | None) -> None:
        """Work as ``spec`` says (from the start, or from a reorganization on: its queues and
        calendar stay)."""
        self.spec = spec
        self.time_per_work = spec.time_per_work(slowdown, len(self.calendar.days))
        self.by_value = spec.discipline == "predicted_value"
        self.pickup = pickup

    def heads(self, t0: float, t1: float) -> float:
        """People on the payroll, averaged over [t0, t1)."""
        if self.staffed is None:
            return float(self.spec.headcount)
        return sum(team.heads(t0, t1) for team in self.staffed)

    def staffed_time(self, t0: float, t1: float) -> float:
        """Working time of the people present in [t0, t1), summed over people."""
        if self.staffed is None:
            return self.spec.headcount * self.calendar.working_time(t0, t1)
        return sum(team.staffed_time(t0, t1) for team in self.staffed)

    def effective_heads(self) -> float:
        """People present now, each at their productivity (the headcount where it never changes)."""
        if self.staffed is None:
            return self.spec.headcount
        return sum(team.effective_heads() for team in self.staffed)


def _teams(env: simpy.Environment, scn: Scenario, name: str, spec: Role, calendar: WorkCalendar,
           streams: Streams, transition: Transition | None) -> list[Team] | None:
    """The role's teams over time, where its capacity changes (or a reorganization changes
    how it works); None where it never does."""
    if not spec.capacity_changes and transition is None:
        return None
    hazard = attrition_hazard(spec.attrition_annual)
    ramp = ramp_of(scn, spec)
    moving = moved_in(scn.roles, transition.at).get(name, 0) if transition is not None else 0
    out = []
    for i, steps in enumerate(team_steps(spec)):
        # Each team's tenures from its own stream: a design's other teams do not shift them.
        tenures = streams.bulk(f"attrition.{name}.{i}", lambda rng, n: rng.standard_exponential(n)) if hazard > 0 else None
        moves = None
        if transition is not None and moving:
            # The people moved in fill this team's growth at the switch, team by team.
            grows = max(0, _team_heads(steps, transition.at) - _team_heads(steps, math.nextafter(transition.at, 0)))
            here, moving = min(grows, moving), moving - min(grows, moving)
            moves = (transition.at, here, transition.reramp_start, transition.reramp_time)
        out.append(Team(env, name, calendar, steps, ramp, spec.ramp_start, hazard, spec.time_to_hire, tenures, moves))
    if spec.hiring is not None:
        env.process(hire_on_demand(env, out, spec.hiring))
    return out


def _team_heads(steps: list[tuple[float, int]], t: float) -> int:
    return max((n for at, n in steps if at <= t), default=0)


def pickup_stream(streams: Streams, name: str, spec: Role, purpose: str = "pickup") -> Bulk | None:
    """The draws of a role's pickup delay (None: the role picks work up at once)."""
    return streams.bulk(f"{purpose}.{name}", spec.pickup_delay.sample) if spec.pickup_delay else None


def build_roles(env: simpy.Environment, scn: Scenario, streams: Streams,
                transition: Transition | None = None) -> dict[str, RoleQueue]:
    """Every role of the scenario as a :class:`RoleQueue` (``transition``: the reorganization
    the run will go through, whose every role is staffed so that it can change)."""
    calendars = {name: build_calendar(c, scn.simulation) for name, c in scn.calendars.items()}
    slow = scn.market.effects.generalist_slowdown
    out = {}
    for name, spec in scn.roles.items():
        calendar = ALWAYS if spec.calendar == "always" else calendars[spec.calendar]
        out[name] = RoleQueue(
            env, name, spec, calendar, slow if spec.generalist else 1.0, pickup_stream(streams, name, spec),
            _teams(env, scn, name, spec, calendar, streams, transition),
        )
    return out
