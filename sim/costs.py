"""What a design costs a year, derived from who is in it (fair by construction).

A role's cost per head is either stated (``loaded_cost_annual``) or derived from its
``mix``: the jobs one head stands for (a pod of one SDR, two AEs and one CSM is
``{sdr: 1, ae: 2, csm: 1}``), costed at the market's ``job_costs``. The market is shared by
every design of a comparison, so two designs that employ the same people cost the same.
A design may still state a cost per head beside a mix; when the two differ by more than
:data:`COST_TOLERANCE`, :func:`cost_notes` says so (and the command line warns).

AI roles carry, besides the per-agent cost and the per-task fee, a fixed platform cost and
the cost of the people who tend the agents (``platform_cost_annual``,
``operations_cost_annual``): both are fixed costs of the role, whatever its headcount.
"""

from __future__ import annotations

from .schema import Role, Scenario

__all__ = ["COST_TOLERANCE", "implied_cost", "resolve_costs", "fixed_cost", "role_fixed_cost", "cost_notes",
           "mix_text", "open_days", "reorg_cost"]

#: A stated cost per head further than this from its mix's implied cost is warned about.
COST_TOLERANCE = 0.05


def implied_cost(scn: Scenario, role: Role) -> float | None:
    """The cost per head a role's mix implies (the count-weighted mean job cost); None: no mix."""
    jobs = scn.market.job_costs
    if not role.mix or any(j not in jobs for j in role.mix):
        return None
    heads = sum(role.mix.values())
    if heads <= 0:
        return None
    return sum(jobs[j] * n for j, n in role.mix.items()) / heads


def resolve_costs(scn: Scenario) -> Scenario:
    """``scn`` with every role that has a mix and no stated cost costed from its mix."""
    fills = {}
    for name, role in scn.roles.items():
        implied = implied_cost(scn, role)
        if implied is not None and role.loaded_cost_annual == 0:
            fills[name] = role.model_copy(update={"loaded_cost_annual": implied})
    if not fills:
        return scn
    return scn.model_copy(update={"roles": {n: fills.get(n, r) for n, r in scn.roles.items()}})


def role_fixed_cost(role: Role) -> float:
    """A role's fixed cost a year: its heads, plus its platform and the people tending it."""
    return role.headcount * role.loaded_cost_annual + role.platform_cost_annual + role.operations_cost_annual


def open_days(role: Role, t0: float, t1: float) -> float:
    """Days of [t0, t1) in which the role's plan has anyone: its platform and operations costs
    run then (a role a reorganization opens or closes costs nothing while it is empty)."""
    steps = role.steps()
    ends = [at for at, _ in steps[1:]] + [float("inf")]
    return sum(max(0.0, min(end, t1) - max(at, t0)) for (at, n), end in zip(steps, ends) if n > 0)


def reorg_cost(scn: Scenario, t0: float, t1: float) -> float:
    """The one-off cost of the scenario's reorganization if its switch falls in [t0, t1), $."""
    t = scn.transition
    return t.one_off_cost if t is not None and t0 <= t.at < t1 else 0.0


def fixed_cost(scn: Scenario) -> float:
    """Every role's fixed cost a year (per-task fees and the marketing programme excluded)."""
    return sum(role_fixed_cost(r) for r in scn.roles.values())


def mix_text(role: Role) -> str:
    """``1 sdr + 2 ae + 1 csm``."""
    return " + ".join(f"{n:g} {job}" for job, n in role.mix.items())


def cost_notes(scn: Scenario, tolerance: float = COST_TOLERANCE) -> list[str]:
    """One line per role whose stated cost per head differs from its mix's by more than ``tolerance``."""
    out = []
    for name, role in scn.roles.items():
        implied = implied_cost(scn, role)
        if implied is None or implied == 0:
            continue
        gap = role.loaded_cost_annual / implied - 1
        if abs(gap) > tolerance:
            extra = (implied - role.loaded_cost_annual) * role.headcount
            out.append(f"{name}: ${role.loaded_cost_annual / 1e3:,.1f}K a head is stated, but its mix "
                       f"({mix_text(role)}) implies ${implied / 1e3:,.1f}K at market.job_costs "
                       f"({gap * 100:+.1f}%; {'+' if extra >= 0 else '-'}${abs(extra) / 1e3:,.0f}K a year "
                       f"for {role.headcount} heads): remove loaded_cost_annual to cost it from the mix")
    return out
