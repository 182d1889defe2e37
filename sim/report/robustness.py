"""The report section "What this conclusion rests on", from robustness.csv and switching.csv."""

from __future__ import annotations

import math
from typing import Any

from ..locale import Catalogue
from . import kpis as K
from .folder import ReportData

__all__ = ["rests_on_section"]


def _g(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else "–"


def rests_on_section(data: ReportData, cat: Catalogue) -> dict[str, Any] | None:
    """One sentence per design and headline: robust or not, share better, what it leans on, where it flips."""
    table = data.robustness
    if table is None or table.empty:
        return None
    switching = data.switching
    lines = []
    for r in table.itertuples():
        kpi = str(r.kpi)
        values = {"design": cat.design(str(r.design)), "baseline": cat.design(str(r.baseline)),
                  "kpi": K.label(kpi, cat)}
        if not math.isfinite(float(r.base_diff_mean)) or float(r.base_diff_mean) == 0:
            lines.append(cat.t("robustness.none", **values))
            continue
        share = f"{float(r.share_better) * 100:.0f}%" if math.isfinite(float(r.share_better)) else "–"
        lean = str(r.leans_on) if isinstance(r.leans_on, str) and r.leans_on else "–"
        key = "robustness.robust" if bool(r.robust) else "robustness.fragile"
        text = cat.t(key, diff=K.fmt_diff(kpi, float(r.base_diff_mean), cat), share=share, lean=lean, **values)
        if switching is not None and not switching.empty:
            for f in switching[(switching.design == r.design) & (switching.kpi == r.kpi)].itertuples():
                # better_when "below": the design is better below the switching value.
                flip = "robustness.flip_below" if f.better_when == "below" else "robustness.flip_above"
                text += " " + cat.t(flip, design=values["design"], param=str(f.parameter), value=_g(float(f.switching_value)),
                                    low=_g(float(f.ci_low)), high=_g(float(f.ci_high)), rlow=_g(float(f.low)),
                                    rhigh=_g(float(f.high)))
        lines.append(text)
    params = data.manifest.get("params") or []
    return {"lines": lines, "points": data.manifest.get("points", "?"), "params": len(params)}
