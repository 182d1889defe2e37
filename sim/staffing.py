"""Capacity that changes over time: people join a role (by its headcount plan, or as a
leaver's backfill), ramp up, and leave (by the plan, or by attrition).

Only a role whose capacity changes (:attr:`sim.schema.Role.capacity_changes`) uses this
engine; a role whose people stay put keeps the closed-form queues of :mod:`sim.org`. One
engine serves every queue discipline: waiting work is ordered by a key (0 for first come
first served, so arrival order decides; minus the predicted value for the value-ordered
queue) and a free person takes the first job.

A new hire's productivity rises linearly from ``ramp_start`` to 1 over ``ramp_time``; a
job's speed is its performer's productivity when it starts (jobs last hours, a ramp months).
The people there at the start are ramped. A person who leaves by attrition drops their job in
hand: what is left of its work goes back to the queue ahead of later work (``reassign`` in the
event log), and the seat is refilled ``time_to_hire`` later by a new hire. People leaving by
the plan finish their job in hand first; the newest go first.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, cast

import simpy

from .calendar import WorkCalendar
from .events import EventLog
from .schema import HiringRule, Role, Scenario

if TYPE_CHECKING:
    from .market import Buyer

__all__ = ["Job", "Person", "Team", "ramp_of", "team_steps", "attrition_hazard", "hire_on_demand"]


def ramp_of(scn: Scenario, role: Role) -> float | None:
    """A role's ramp time: its own, else its mix's jobs' (count-weighted mean), else None (no ramp)."""
    if role.ramp_time is not None:
        return role.ramp_time
    ramps = scn.market.job_ramp_times
    heads = sum(role.mix.values())
    if not role.mix or heads <= 0 or any(j not in ramps for j in role.mix):
        return None
    return sum(ramps[j] * n for j, n in role.mix.items()) / heads


def attrition_hazard(annual: float) -> float:
    """Leaving rate per day of a person who leaves within a year with probability ``annual``."""
    return -math.log1p(-annual) / 365.0


def team_steps(role: Role) -> list[list[tuple[float, int]]]:
    """Each team's headcount plan: the role's people split as evenly as its static queues split them."""
    out: list[list[tuple[float, int]]] = [[] for _ in range(role.teams)]
    for at, n in role.steps():
        base, extra = divmod(n, role.teams)
        for i in range(role.teams):
            out[i].append((at, base + (1 if i < extra else 0)))
    return out


class Person:
    """One person of a team: when they joined, what they are doing, whether they are on their way out."""

    __slots__ = ("joined", "ramped", "job", "leaving", "left", "quits_at", "ramp_time", "ramp_start")

    def __init__(self, joined: float, ramped: bool, quits_at: float, ramp_time: float | None, ramp_start: float):
        self.joined = joined
        self.ramped = ramped or ramp_time is None
        #: Their own ramp: a new hire's (the team's), or a moved person's re-ramp (sim.transition).
        self.ramp_time = ramp_time
        self.ramp_start = ramp_start
        self.job: Job | None = None
        self.leaving = False
        self.left = math.inf
        #: When attrition takes them (drawn on joining; inf without attrition).
        self.quits_at = quits_at


class Job:
    """A piece of work for a buyer, from joining the queue until its last piece is done."""

    __slots__ = ("buyer", "activity", "key", "seq", "remaining", "deadline", "queued_at", "log", "started",
                 "done", "first_start", "cancelled", "role")

    def __init__(self, env: simpy.Environment, buyer: Buyer, activity: str, key: float, seq: int, occupied: float,
                 deadline: float | None, queued_at: float, log: EventLog, role: str):
        self.buyer = buyer
        #: The role whose queue holds it (a reorganization may move it to another).
        self.role = role
        self.activity = activity
        self.key = key
        self.seq = seq
        #: Occupied time still needed at full productivity.
        self.remaining = occupied
        self.deadline = deadline
        self.queued_at = queued_at
        self.log = log
        #: Fires when a person takes the job (value: the start), or None when it would start after its deadline.
        self.started = env.event()
        #: Fires when the work is done (value: the first start).
        self.done = env.event()
        self.first_start: float | None = None
        self.cancelled = False


class Team:
    """One queue of a role and the people serving it, over time."""

    def __init__(self, env: simpy.Environment, role: str, calendar: WorkCalendar, steps: list[tuple[float, int]],
                 ramp_time: float | None, ramp_start: float, hazard: float, time_to_hire: float,
                 tenures: Iterator[float] | None, moves: tuple[float, int, float, float] | None = None):
        self.env = env
        self.role = role
        self.calendar = calendar
        self.ramp_time = ramp_time
        self.ramp_start = ramp_start
        self.hazard = hazard
        self.time_to_hire = time_to_hire
        self.tenures = tenures
        self.waiting: list[tuple[float, int, Job]] = []
        self.seq = 0
        self.idle: list[Person] = []
        self.present: list[Person] = []
        #: Everyone who ever worked here (for the staffed time of the KPIs).
        self.people: list[Person] = []
        #: Backfills on their way, and how many of them a plan's cut has called off.
        self.pending = 0
        self.skip = 0
        #: People moved in at a reorganization: (when, how many, their re-ramp's start and time).
        self.moves = moves
        #: Where work that finds no one goes after a reorganization left this team without people
        #: (set by sim.transition.switch): a team and the factor on the work's remaining time.
        self.successor: Callable[[Job], tuple[Team, float, float] | None] | None = None
        #: Occupied time of the work begun so far (for a hiring rule's reviews).
        self.busy = 0.0
        for _ in range(steps[0][1]):
            self._join(0.0, ramped=True)
        for at, n in steps[1:]:
            env.timeout(at, n).callbacks.append(self._replan)

    # ------------------------------------------------------------ work

    def productivity(self, person: Person, t: float) -> float:
        """A person's productivity at ``t``: ``ramp_start`` on joining, 1 once ramped."""
        if person.ramped or person.ramp_time is None:
            return 1.0
        x = (t - person.joined) / person.ramp_time
        if x >= 1.0:
            person.ramped = True
            return 1.0
        return person.ramp_start + (1.0 - person.ramp_start) * max(0.0, x)

    def submit(self, buyer: Buyer, activity: str, occupied: float, key: float, deadline: float | None,
               queued_at: float, log: EventLog) -> Job:
        """Queue ``occupied`` time of work (at full productivity) for ``buyer``."""
        self.seq += 1
        job = Job(self.env, buyer, activity, key, self.seq, occupied, deadline, queued_at, log, self.role)
        if self.successor is not None:  # work that reached a role a reorganization closed (after a pickup delay)
            log.record(self.env.now, buyer.id, "reassign", self.role, activity)
            self._requeue(job)
            return job
        heapq.heappush(self.waiting, (key, job.seq, job))
        self._dispatch()
        return job

    def cancel(self, job: Job) -> None:
        """Withdraw a job no one has taken (the buyer left)."""
        job.cancelled = True

    def _dispatch(self) -> None:
        while self.idle and self.waiting:
            _, _, job = heapq.heappop(self.waiting)
            if job.cancelled:
                continue
            start = self.calendar.next_open(self.env.now)
            if not job.started.triggered and job.deadline is not None and start > job.deadline:
                job.started.succeed(None)  # the buyer leaves at the deadline; nobody was taken
                continue
            # The most productive free person takes it (the first of them on a tie).
            person = max(self.idle, key=lambda p: self.productivity(p, start))
            self.idle.remove(person)
            self._begin(person, job, start)

    def _begin(self, person: Person, job: Job, start: float) -> None:
        speed = self.productivity(person, start)
        occupied = job.remaining / speed
        end = self.calendar.finish_at(start, occupied)
        # Counted when begun: a review period sees the work its people took on (jobs last hours).
        self.busy += occupied
        person.job = job
        if not job.started.triggered:
            job.started.succeed(start)
        # The piece is logged now, as the static queues log theirs: its start and end are known,
        # for the person's leaving date was drawn when they joined.
        quits = person.quits_at
        if quits > end:
            self._log_piece(job, start, end, occupied)
            self.env.timeout(end - self.env.now, (person, job)).callbacks.append(self._finished)
        elif quits > start:  # they leave mid-job (_quit puts the rest back in the queue)
            done = self.calendar.working_time(start, quits)
            self._log_piece(job, start, quits, done)
            job.remaining = max(0.0, job.remaining - done * speed)

    def _log_piece(self, job: Job, start: float, end: float, occupied: float) -> None:
        if job.first_start is None:
            job.first_start = start
        job.log.record(start, job.buyer.id, "start", self.role, job.activity, start - job.queued_at)
        job.log.record(end, job.buyer.id, "end", self.role, job.activity, occupied)

    def _finished(self, event: simpy.Event) -> None:
        person, job = cast(tuple[Person, Job], event.value)
        job.done.succeed(job.first_start)
        person.job = None
        if person.leaving:
            self._gone(person)
        else:
            self.idle.append(person)
        self._dispatch()

    # ------------------------------------------------------------ people

    def _join(self, t: float, ramped: bool, moved: bool = False) -> None:
        quits = math.inf
        if self.tenures is not None and self.hazard > 0:
            quits = t + next(self.tenures) / self.hazard
        if moved:
            assert self.moves is not None
            person = Person(t, False, quits, self.moves[3], self.moves[2])
        else:
            person = Person(t, ramped, quits, self.ramp_time, self.ramp_start)
        self.present.append(person)
        self.people.append(person)
        self.idle.append(person)
        if quits < math.inf:
            self.env.timeout(quits - t, person).callbacks.append(self._quit)

    def _gone(self, person: Person) -> None:
        person.left = self.env.now
        self.present.remove(person)

    def _quit(self, event: simpy.Event) -> None:
        """A person leaves by attrition: their job in hand goes back to the queue; a backfill is on its way."""
        person = cast(Person, event.value)
        if person.left < math.inf:
            return  # already gone by the plan
        now = self.env.now
        job = person.job
        if job is not None:
            # What they did of it is logged (_begin); the rest goes back to the queue.
            person.job = None
            job.queued_at = now
            job.log.record(now, job.buyer.id, "reassign", self.role, job.activity)
            self._requeue(job)
        else:
            self.idle.remove(person)
        self._gone(person)
        if not person.leaving:
            self.pending += 1
            self.env.timeout(self.time_to_hire).callbacks.append(self._backfill)
        self._dispatch()

    def _backfill(self, event: simpy.Event) -> None:
        self.pending -= 1
        if self.skip > 0:
            self.skip -= 1  # the plan cut this seat meanwhile
            return
        self._join(self.env.now, ramped=False)
        self._dispatch()

    def requisition(self) -> None:
        """One more person, who joins ``time_to_hire`` from now (a hiring rule's hire)."""
        self.pending += 1
        self.env.timeout(self.time_to_hire).callbacks.append(self._backfill)

    def planned(self) -> int:
        """The people the team has or has hired: present and staying, plus those on their way."""
        return sum(1 for p in self.present if not p.leaving) + self.pending - self.skip

    def _replan(self, event: simpy.Event) -> None:
        """A step of the headcount plan: hire to it, or let the newest go (idle ones first)."""
        n = cast(int, event.value)
        staying = [p for p in self.present if not p.leaving]
        have = self.planned()
        if n > have:
            moved = self.moves[1] if self.moves is not None and self.moves[0] == self.env.now else 0
            for i in range(n - have):
                self._join(self.env.now, ramped=False, moved=i < moved)
        elif n < have:
            excess = have - n
            cancel = min(excess, self.pending - self.skip)
            self.skip += cancel
            excess -= cancel
            for person in sorted(staying, key=lambda p: (p.job is not None, -p.joined))[:excess]:
                person.leaving = True
                if person.job is None:
                    self.idle.remove(person)
                    self._gone(person)
        self._dispatch()

    def _requeue(self, job: Job) -> None:
        """Work back in the queue (its performer left): here, or where a reorganization sends it."""
        home = self.successor(job) if self.successor is not None else None
        if home is None:
            heapq.heappush(self.waiting, (job.key, job.seq, job))
            return
        team, factor, job.key = home
        job.role = team.role
        job.log.record(self.env.now, job.buyer.id, "queue", team.role, job.activity)
        job.remaining *= factor
        team.seq += 1
        job.seq = team.seq
        heapq.heappush(team.waiting, (job.key, job.seq, job))
        team._dispatch()

    def hand_over_waiting(self) -> None:
        """Send the work waiting here to where :attr:`successor` says (a reorganization)."""
        waiting, self.waiting = self.waiting, []
        now = self.env.now
        for _, _, job in sorted(waiting):
            if job.cancelled:
                continue
            job.queued_at = now
            job.log.record(now, job.buyer.id, "reassign", self.role, job.activity)
            self._requeue(job)

    # ------------------------------------------------------------ measures

    def heads(self, t0: float, t1: float) -> float:
        """People on the payroll, averaged over [t0, t1) (ramping or not: cost runs from day one)."""
        span = t1 - t0
        return sum(max(0.0, min(p.left, t1) - max(p.joined, t0)) for p in self.people) / span if span > 0 else 0.0

    def staffed_time(self, t0: float, t1: float) -> float:
        """Working time of the people present inside [t0, t1), summed over people."""
        return sum(self.calendar.working_time(max(p.joined, t0), min(p.left, t1)) for p in self.people)

    def effective_heads(self) -> float:
        """People present now, each counted at their productivity."""
        now = self.env.now
        return sum(self.productivity(p, now) for p in self.present)


def hire_on_demand(env: simpy.Environment, teams: list[Team], rule: HiringRule) -> Generator[Any, Any, None]:
    """A hiring rule: at each review, the team busiest over the period just ended gets a
    requisition if its utilization was above ``rule.above``, while none is open and the role
    has fewer than ``rule.max_headcount`` people planned."""
    busy = [0.0] * len(teams)
    while True:
        start = env.now
        yield env.timeout(rule.review)
        now = env.now
        shares = []
        for i, team in enumerate(teams):
            staffed = team.staffed_time(start, now)
            shares.append((team.busy - busy[i]) / staffed if staffed > 0 else 0.0)
            busy[i] = team.busy
        open_ = any(team.pending > team.skip for team in teams)
        planned = sum(team.planned() for team in teams)
        best = max(range(len(teams)), key=lambda i: shares[i])
        if not open_ and planned < rule.max_headcount and shares[best] > rule.above:
            teams[best].requisition()
