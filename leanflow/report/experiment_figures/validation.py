"""The model against queueing theory (experiments/validation.yaml, validation_tandem.yaml): Erlang C waits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from leanflow.errors import ResultsError
from leanflow.report.experiment_figures.common import (
    C_COLOURS,
    PER_WEEK,
    ExperimentFigure,
    SweepInput,
    half_width,
    markdown,
    require,
)

SERVERS = "plans.pooled.roles.servers.headcount"
EFFORT = "process.stages.0.effort_hours.mean"
# the tandem line of scenarios/queueing/tandem.yaml: stage, role, servers, mean service hours
STATIONS = (("cut", "cutters", 2, 1.6), ("weld", "welders", 3, 2.4), ("paint", "painters", 1, 0.7))
HOURS_PER_WEEK = 168.0  # the queueing roles sell around the clock: one effort hour is one hour of clock time


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a = lambda/mu < c (Erlang C)."""
    if not 0 < a < c:
        raise ValueError(f"Erlang C needs 0 < a < c, got a = {a}, c = {c}")
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc_wq(c: int, lam: float, mu: float) -> float:
    """Mean wait in queue of an M/M/c station: C(c, lambda/mu) / (c mu - lambda)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def _stable(c: int, lam: float, mu: float, where: SweepInput) -> None:
    """Theory needs a stable queue: one clear line when a point's load reaches its servers."""
    if not 0 < lam / mu < c:
        raise ResultsError(f"{where.directory}: a point has offered load {lam / mu:.3g} on {c} server(s): "
                           "no steady-state Erlang C wait to compare with")  # fmt: skip


def _intervals(t: pd.DataFrame) -> pd.DataFrame:
    """Flags for whether the analytic value is inside each interval, and the relative error."""
    t["in90"] = (t.sim - t.theory).abs() <= t.h90
    t["in99"] = (t.sim - t.theory).abs() <= t.h99
    t["rel"] = t.sim / t.theory - 1
    return t


def _yes(a: bool, b: bool) -> str:
    return f"{'yes' if a else 'NO'} / {'yes' if b else 'NO'}"


def _measured_days(sweep: SweepInput) -> str:
    """', N measured days per replication' when the sweep fixes horizon and warm-up, else nothing."""
    o = sweep.sweep.overrides
    if isinstance(o.get("horizon_days"), int | float) and isinstance(o.get("warmup_days"), int | float):
        return f", {o['horizon_days'] - o['warmup_days']:,g} measured days per replication"
    return ""


def mmc_table(sweep: SweepInput) -> pd.DataFrame:
    """Per point: servers c, utilisation rho, analytic Wq (days), the simulated mean with 90% and 99% CIs."""
    rows = []
    for point, g in sweep.results.groupby("point"):
        c = int(g[SERVERS].iloc[0])
        service_days = float(g[EFFORT].iloc[0]) / 24.0
        lam, mu = float(g[PER_WEEK].iloc[0]) / 7.0, 1.0 / service_days
        _stable(c, lam, mu, sweep)
        x = g["queue_days_servers"].to_numpy()
        mean, h90 = half_width(x, 0.90)
        _, h99 = half_width(x, 0.99)
        u, uh99 = half_width(g["utilisation_servers"].to_numpy(), 0.99)
        rows.append({"point": point, "c": c, "rho": lam / (c * mu), "theory": mmc_wq(c, lam, mu), "sim": mean,
                     "h90": h90, "h99": h99, "n": x.size, "util": u, "util_h99": uh99})  # fmt: skip
    t = _intervals(pd.DataFrame(rows))
    t["util_in99"] = (t.util - t.rho).abs() <= t.util_h99
    return t


def validation(sweep: SweepInput, second: SweepInput | None = None) -> ExperimentFigure:
    """M/M/c: simulated against Erlang C mean queue waits, with the relative error and its 99% CI."""
    require(sweep, "validation", [SERVERS, EFFORT, PER_WEEK, "queue_days_servers", "utilisation_servers"])
    t = mmc_table(sweep)
    fig = Figure(figsize=(12, 5.2), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    for i, (c, g) in enumerate(t.groupby("c")):
        colour = C_COLOURS[i % len(C_COLOURS)]
        ax.errorbar(g.theory, g.sim, yerr=g.h99, fmt="o", ms=4, capsize=3, color=colour, label=f"c = {c}")
        bx.errorbar(g.rho + (i - 2) * 0.008, g.rel * 100, yerr=g.h99 / g.theory * 100, fmt="o", ms=4, capsize=3,
                    color=colour, label=f"c = {c}")  # fmt: skip
    _identity(ax, t.theory.min(), t.theory.max())
    ax.set(xscale="log", yscale="log", xlabel="analytic Wq, Erlang C (days)", ylabel="simulated mean queue wait (days)",
           title="M/M/c: simulated vs analytic mean wait (99% CIs)")  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    _error_panel(bx, "utilisation rho (points offset by c)")
    fig.suptitle(f"M/M/c validation: {len(t)} points, {int(t.n.iloc[0])} replications each{_measured_days(sweep)}")
    out = pd.DataFrame({
        "c": t.c, "rho": t.rho.map("{:.1f}".format), "analytic Wq (d)": t.theory.map("{:.4f}".format),
        "simulated (d)": t.sim.map("{:.4f}".format),
        "90% CI": [f"{m - h:.4f} .. {m + h:.4f}" for m, h in zip(t.sim, t.h90, strict=True)],
        "99% CI": [f"{m - h:.4f} .. {m + h:.4f}" for m, h in zip(t.sim, t.h99, strict=True)],
        "error": t.rel.map("{:+.1%}".format),
        "in 90% / 99% CI": [_yes(a, b) for a, b in zip(t.in90, t.in99, strict=True)],
    })  # fmt: skip
    chunks = ["\n## validation (M/M/c): mean queue wait\n", markdown(out),
              f"\ninside the 90% CI: {int(t.in90.sum())} of {len(t)}; inside the 99% CI: {int(t.in99.sum())} of "
              f"{len(t)}; largest |error| {t.rel.abs().max():.1%}; "
              f"utilisation inside its 99% CI: {int(t.util_in99.sum())} of {len(t)}"]  # fmt: skip
    for r in t[~t.util_in99].itertuples():
        chunks.append(f"  utilisation outside its 99% CI: c = {r.c}, rho = {r.rho:.1f}: {r.util:.4f} "
                      f"({r.util - r.util_h99:.4f} .. {r.util + r.util_h99:.4f})")  # fmt: skip
    return ExperimentFigure("validation", fig, chunks)


def tandem_table(sweep: SweepInput) -> pd.DataFrame:
    """Per arrival rate: each station's Wq and W and the line's W, analytic (Jackson) against simulated, in days."""
    rows = []
    for per_week, g in sweep.results.groupby(PER_WEEK):
        lam = per_week / HOURS_PER_WEEK  # per hour
        total = 0.0
        for stage, role, c, hours in STATIONS:
            _stable(c, lam, 1 / hours, sweep)
            wq = mmc_wq(c, lam, 1 / hours) / 24.0  # days
            total += wq + hours / 24.0
            for what, col, theory in (("Wq", f"queue_days_{role}", wq), ("W", f"stage_days_{stage}", wq + hours / 24)):
                mean, h90 = half_width(g[col], 0.90)
                _, h99 = half_width(g[col], 0.99)
                rows.append({"lambda": lam, "what": f"{stage} {what}", "rho": lam * hours / c, "theory": theory,
                             "sim": mean, "h90": h90, "h99": h99})  # fmt: skip
        mean, h90 = half_width(g["cycle_mean"], 0.90)
        _, h99 = half_width(g["cycle_mean"], 0.99)
        rows.append({"lambda": lam, "what": "line W", "rho": np.nan, "theory": total, "sim": mean, "h90": h90,
                     "h99": h99})  # fmt: skip
    return _intervals(pd.DataFrame(rows))


def validation_tandem(sweep: SweepInput, second: SweepInput | None = None) -> ExperimentFigure:
    """Jackson tandem M/M/2 -> M/M/3 -> M/M/1: station waits and time through the line against theory."""
    needed = [PER_WEEK, "cycle_mean", *(f"queue_days_{r}" for _, r, _, _ in STATIONS),
              *(f"stage_days_{s}" for s, _, _, _ in STATIONS)]  # fmt: skip
    require(sweep, "validation_tandem", needed)
    t = tandem_table(sweep)
    fig = Figure(figsize=(12, 5.2), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    for i, kind in enumerate(["cut Wq", "weld Wq", "paint Wq", "line W"]):
        g = t[t.what == kind]
        ax.errorbar(g.theory * 24, g.sim * 24, yerr=g.h99 * 24, fmt="o", ms=4, capsize=3, color=C_COLOURS[i],
                    label=kind)  # fmt: skip
        bx.errorbar(g["lambda"] + (i - 1.5) * 0.01, g.rel * 100, yerr=g.h99 / g.theory * 100, fmt="o", ms=4,
                    capsize=3, color=C_COLOURS[i], label=kind)  # fmt: skip
    _identity(ax, t.theory.min() * 24, t.theory.max() * 24)
    ax.set(xscale="log", yscale="log", xlabel="analytic (hours)", ylabel="simulated mean (hours)",
           title="Jackson tandem: station waits and time through the line (99% CIs)")  # fmt: skip
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    _error_panel(bx, "arrival rate lambda (per hour; points offset)")
    n = sweep.results.groupby("point").size().iloc[0]
    rates = sweep.results[PER_WEEK].nunique()
    fig.suptitle(f"Tandem validation: M/M/2 -> M/M/3 -> M/M/1 at {rates} arrival rates, {n} replications each")
    out = pd.DataFrame({
        "lambda/h": t["lambda"].map("{:.1f}".format), "quantity": t.what,
        "rho": t.rho.map(lambda r: "" if np.isnan(r) else f"{r:.2f}"),
        "analytic (h)": (t.theory * 24).map("{:.3f}".format), "simulated (h)": (t.sim * 24).map("{:.3f}".format),
        "99% CI (h)": [f"{(m - h) * 24:.3f} .. {(m + h) * 24:.3f}" for m, h in zip(t.sim, t.h99, strict=True)],
        "error": t.rel.map("{:+.1%}".format),
        "in 90% / 99% CI": [_yes(a, b) for a, b in zip(t.in90, t.in99, strict=True)],
    })  # fmt: skip
    chunks = ["\n## validation_tandem: waits (Wq) per station and time through the line (W)\n",
              markdown(out[t.what.str.endswith("Wq") | (t.what == "line W")]),
              f"\nall {len(t)} quantities (Wq and W per station, line W): inside the 90% CI {int(t.in90.sum())}, "
              f"inside the 99% CI {int(t.in99.sum())}; largest |error| {t.rel.abs().max():.1%}"]  # fmt: skip
    return ExperimentFigure("validation_tandem", fig, chunks)


def _identity(ax, low: float, high: float) -> None:
    """The simulated = analytic diagonal over the analytic range."""
    lim = [low * 0.7, high * 1.3]
    ax.plot(lim, lim, color="black", lw=0.8, label="simulated = analytic")


def _error_panel(bx, xlabel: str) -> None:
    """The relative-error panel's zero line, labels, legend and grid."""
    bx.axhline(0, color="black", lw=0.8)
    bx.set(xlabel=xlabel, ylabel="simulated / analytic - 1 (%)", title="Relative error with its 99% CI")
    bx.legend(fontsize=8)
    bx.grid(alpha=0.3)
