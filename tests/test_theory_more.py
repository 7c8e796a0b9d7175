"""More known-answer tests: single-server queues with general service (Pollaczek-Khinchine / Kingman), a G/G/1
queue with renewal arrivals, and closed CONWIP lines against exact Mean Value Analysis.

Same method as ``test_theory``: each statistical test runs R independent replications with a fixed seed, takes
one estimate per replication (after the warm-up), and checks that the 99% t confidence interval of the mean
across replications contains the analytic value with a half-width under 10% of it. Each scenario is run by a
single test (not a module fixture shared by several), so that ``-n 2`` does not run it on both workers.
Scenario files live in ``scenarios/queueing``; their comments give the formulas and values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_theory import HOURS, JOBS, _little, assert_ci_contains, assert_little, load, max_concurrent, wait_share

from leanflow.experiment.runner import run_scenario
from leanflow.metrics import little_check, run_data
from leanflow.model import OUTCOMES, Funnel
from leanflow.random import replication_seed

PER_HOUR = 7 * HOURS  # won_per_week / PER_HOUR = deals per hour (every queueing role sells 168 h/week)


# ---------------------------------------------------------------- theory: single server


def kingman_wq(rho: float, ca2: float, cs2: float, mean_s: float) -> float:
    """Kingman's formula u / (1 - u) * (ca^2 + cs^2) / 2 * E[S]: exact for Poisson arrivals (ca^2 = 1)."""
    return rho / (1 - rho) * (ca2 + cs2) / 2 * mean_s


def pk_wq(lam: float, mean_s: float, second_moment: float) -> float:
    """Pollaczek-Khinchine mean wait of M/G/1: l E[S^2] / (2 (1 - l E[S]))."""
    rho = lam * mean_s
    if not 0 < rho < 1:
        raise ValueError("need 0 < utilisation < 1")
    return lam * second_moment / (2 * (1 - rho))


def klb_wq(rho: float, ca2: float, cs2: float, mean_s: float) -> float:
    """Kingman's formula with the Kramer and Langenbach-Belz (1976) factor for ca^2 < 1 (Whitt's QNA, 1983)."""
    if ca2 >= 1:
        raise ValueError("the factor here is the ca^2 < 1 branch")
    g = math.exp(-2 * (1 - rho) * (1 - ca2) ** 2 / (3 * rho * (ca2 + cs2)))
    return g * kingman_wq(rho, ca2, cs2, mean_s)


def daley_bound(rho: float, ca2: float, cs2: float, mean_s: float) -> float:
    """Daley's (1977) upper bound on the GI/G/1 mean wait: ((2 - u) ca^2 + u cs^2) / (2 (1 - u)) E[S]."""
    return ((2 - rho) * ca2 + rho * cs2) / (2 * (1 - rho)) * mean_s


def erlang_ph(k: int, mean: float) -> tuple[np.ndarray, np.ndarray]:
    """The Erlang-k distribution of the given mean as a phase-type (initial vector, sub-generator)."""
    rate = k / mean
    return np.eye(k)[0], np.diag(np.full(k, -rate)) + np.diag(np.full(k - 1, rate), 1)


def phph1_wq(arrival: tuple[np.ndarray, np.ndarray], service: tuple[np.ndarray, np.ndarray]) -> float:
    """Exact mean wait of the PH/PH/1 queue, by the matrix-geometric method (Neuts).

    Level n >= 1 holds (arrival phase, service phase); level 0 the arrival phase. The rate matrix R is the
    minimal solution of A0 + R A1 + R^2 A2 = 0, the boundary is solved with the normalisation, and
    Wq = L / l - E[S] (Little)."""
    a, t_mat = arrival
    b, s_mat = service
    ka, ks = a.size, b.size
    t, s = -t_mat.sum(axis=1), -s_mat.sum(axis=1)
    ia, i_s = np.eye(ka), np.eye(ks)
    up = np.kron(np.outer(t, a), i_s)
    local = np.kron(t_mat, i_s) + np.kron(ia, s_mat)
    down = np.kron(ia, np.outer(s, b))
    inv = np.linalg.inv(local)
    r = np.zeros_like(local)
    for _ in range(100_000):
        new = -(up + r @ r @ down) @ inv
        if np.abs(new - r).max() < 1e-14:
            r = new
            break
        r = new
    else:  # pragma: no cover - the iteration converges for any stable queue
        raise RuntimeError("R did not converge")
    n1 = ka * ks
    gen = np.zeros((ka + n1, ka + n1))
    gen[:ka, :ka] = t_mat
    gen[:ka, ka:] = np.kron(np.outer(t, a), b[None, :])
    gen[ka:, :ka] = np.kron(ia, s[:, None])
    gen[ka:, ka:] = local + r @ down
    geo = np.linalg.inv(np.eye(n1) - r)
    gen[:, 0] = np.concatenate([np.ones(ka), geo @ np.ones(n1)])  # replace one balance equation by sum pi = 1
    rhs = np.zeros(ka + n1)
    rhs[0] = 1.0
    pi1 = np.linalg.solve(gen.T, rhs)[ka:]
    in_system = pi1 @ geo @ geo @ np.ones(n1)
    lam = 1.0 / (a @ np.linalg.inv(-t_mat) @ np.ones(ka))
    mean_s = b @ np.linalg.inv(-s_mat) @ np.ones(ks)
    return float(in_system / lam - mean_s)


def test_single_server_helpers_match_known_values():
    # Kingman's formula is Pollaczek-Khinchine when arrivals are Poisson: E[S^2] = E[S]^2 (1 + cs^2)
    for cs2 in (0.0, 0.25, 1.0, 4.0):
        assert kingman_wq(0.8, 1.0, cs2, 1.0) == pytest.approx(pk_wq(0.8, 1.0, 1.0 + cs2))
    assert pk_wq(0.8, 1.0, 2.0) == pytest.approx(4.0)  # M/M/1
    assert kingman_wq(0.8, 1.0, 0.0, 1.0) == pytest.approx(2.0)  # M/D/1
    # the matrix-geometric solution against M/M/1, M/E4/1 (P-K) and E4/M/1 (GI/M/1: Wq = s / (m (1 - s)))
    assert phph1_wq(erlang_ph(1, 1.25), erlang_ph(1, 1.0)) == pytest.approx(4.0)
    assert phph1_wq(erlang_ph(1, 1.25), erlang_ph(4, 1.0)) == pytest.approx(2.5)
    sigma = 0.5
    for _ in range(500):  # sigma = A*(m (1 - sigma)), A* the transform of Erlang-4 of mean 1.25
        sigma = (1 + (1 - sigma) / (4 * 0.8)) ** -4
    assert phph1_wq(erlang_ph(4, 1.25), erlang_ph(1, 1.0)) == pytest.approx(sigma / (1 - sigma))
    assert phph1_wq(erlang_ph(4, 1.25), erlang_ph(2, 1.0)) == pytest.approx(1.3055, abs=1e-4)
    assert daley_bound(0.8, 1.0, 1.0, 1.0) > kingman_wq(0.8, 1.0, 1.0, 1.0)


# ---------------------------------------------------------------- M/G/1 (Pollaczek-Khinchine = Kingman)

# (scenario, arrivals per hour, E[S] hours, cs^2)
MG1 = [("md1", 0.8, 1.0, 0.0), ("mg1_cv05", 0.8, 1.0, 0.25), ("mg1_cv2", 0.7, 1.0, 4.0)]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "lam", "mean_s", "cs2"), MG1)
def test_mg1_queue(name, lam, mean_s, cs2):
    """Wq by Pollaczek-Khinchine, W = Wq + E[S], L = l W, utilisation l E[S], P(wait > 0) = u."""
    res = run_scenario(load(name), jobs=JOBS)
    s = res.summary
    rho = lam * mean_s
    wq = pk_wq(lam, mean_s, mean_s**2 * (1 + cs2))
    assert wq == pytest.approx(kingman_wq(rho, 1.0, cs2, mean_s))
    assert_ci_contains(s["queue_days_server"] * HOURS, wq, f"{name} Wq")
    assert_ci_contains(s["cycle_mean"] * HOURS, wq + mean_s, f"{name} W")
    assert_ci_contains(s["wip_serve"], lam * (wq + mean_s), f"{name} L")
    assert_ci_contains(s["utilisation_server"], rho, f"{name} utilisation", max_rel=0.02)
    assert_ci_contains(wait_share(res, "serve"), rho, f"{name} P(wait > 0)", max_rel=0.03)


# ---------------------------------------------------------------- G/G/1 (renewal arrivals)

GG1_RHO, GG1_CA2, GG1_CS2 = 0.8, 0.25, 0.5  # Erlang-4 gaps of 1.25 h, Erlang-2 service of 1 h


@pytest.mark.slow
def test_gg1_queue():
    """The server behind a saturated pacer is an E4/E2/1 queue: exact Wq by matrix-geometric, Kingman and its
    refinement as approximations, Daley's bound as a rigorous ceiling."""
    res = run_scenario(load("gg1"), jobs=JOBS)
    s = res.summary
    # the pacer never idles, so its departures are a renewal process at 0.8 an hour
    assert (s["utilisation_pacer"] > 1 - 1e-6).all(), "the pacer idled: the arrivals are not renewal"
    assert_ci_contains(s["won_per_week"] / PER_HOUR, GG1_RHO, "G/G/1 throughput", max_rel=0.02)
    assert_ci_contains(s["utilisation_server"], GG1_RHO, "G/G/1 utilisation", max_rel=0.02)

    wq_hours = s["queue_days_server"] * HOURS
    exact = phph1_wq(erlang_ph(4, 1.25), erlang_ph(2, 1.0))  # 1.3055 h
    assert_ci_contains(wq_hours, exact, "E4/E2/1 Wq (exact)")
    assert_ci_contains(s["stage_days_serve"] * HOURS, exact + 1.0, "E4/E2/1 W at the server")

    # Kingman's formula is exact only as u -> 1 (Kingman 1961); with ca^2 < 1 at u = 0.8 it overstates Wq
    # (here by 15% against the exact value) and there is no published finite-u error bound, so the checks are:
    # Daley's rigorous bound above the whole interval, Kingman within 20% and its Kramer/Langenbach-Belz
    # refinement within 5% of the simulated mean (their exact errors here: +14.9% and +1.4%).
    mean = float(wq_hours.mean())
    ceiling = daley_bound(GG1_RHO, GG1_CA2, GG1_CS2, 1.0)  # 1.75 h
    kingman = kingman_wq(GG1_RHO, GG1_CA2, GG1_CS2, 1.0)  # 1.5 h
    klb = klb_wq(GG1_RHO, GG1_CA2, GG1_CS2, 1.0)  # 1.3237 h
    assert wq_hours.max() < ceiling, f"a replication's Wq {wq_hours.max():.4g} is above Daley's bound {ceiling}"
    assert abs(mean / kingman - 1) < 0.20, f"Kingman {kingman:.4g} h vs simulated {mean:.4g} h"
    assert abs(mean / klb - 1) < 0.05, f"Kingman-KLB {klb:.4g} h vs simulated {mean:.4g} h"


# ---------------------------------------------------------------- closed CONWIP line (MVA)


def mva(service: list[float], population: int) -> tuple[float, np.ndarray, np.ndarray]:
    """Exact MVA of a closed line of single-server stations with mean service times ``service``:
    throughput X(N), residence times R_k(N) and mean numbers Q_k(N)."""
    s = np.asarray(service, dtype=float)
    q = np.zeros_like(s)
    x, r = 0.0, s.copy()
    for n in range(1, population + 1):
        r = s * (1 + q)
        x = n / r.sum()
        q = x * r
    return x, r, q


def test_mva_helper_matches_balanced_line():
    for m in (1, 2, 3, 5):
        for n in range(1, 8):
            x, r, q = mva([0.5] * m, n)
            assert x == pytest.approx(n * 2.0 / (n + m - 1))  # X(N) = N mu / (N + m - 1)
            assert q.sum() == pytest.approx(n)  # the population is conserved
            assert r.sum() == pytest.approx(n / x)  # Little's law in the line
    x, _, _ = mva([1.0, 2.0, 1.5], 1)
    assert x == pytest.approx(1 / 4.5)  # one deal: one pass through every station
    x, _, _ = mva([1.0, 2.0, 1.5], 200)
    assert x == pytest.approx(0.5, rel=1e-6)  # a large population: the bottleneck's rate


def conwip_plan(plan: str) -> tuple[int, list[float], list[str]]:
    """A plan of ``conwip.yaml``: its WIP cap N, mean service hours per station (effort 1 h at the role's pace)
    and role names."""
    p = load("conwip").plans[plan]
    roles = list(p.roles)
    return p.policy.wip_limits.total, [168.0 / p.roles[r].selling_hours_per_week for r in roles], roles


CONWIP_PLANS = ["balanced_n2", "balanced_n5", "unbalanced_n4"]


@pytest.mark.slow
def test_conwip_line_matches_mva():
    """Throughput, cycle time, per-station WIP and utilisation of each plan against exact MVA; N = X * cycle."""
    res = run_scenario(load("conwip"), jobs=JOBS)
    stages = [st.name for st in res.scenario.process.stages]
    for plan in CONWIP_PLANS:
        s = res.summary[res.summary["plan"] == plan]
        n, service, roles = conwip_plan(plan)
        x, _, q = mva(service, n)
        through = s["won_per_week"] / PER_HOUR
        cycle = s["cycle_mean"] * HOURS
        assert_ci_contains(through, x, f"{plan} X", max_rel=0.02)
        assert_ci_contains(cycle, n / x, f"{plan} cycle time", max_rel=0.02)
        assert_ci_contains(through * cycle, n, f"{plan} Little N = X W", max_rel=0.01)
        assert np.allclose(s["wip_total"], n, rtol=1e-9), f"{plan}: the line does not hold exactly N deals"
        for stage, role, sk, qk in zip(stages, roles, service, q, strict=True):
            assert_ci_contains(s[f"wip_{stage}"], qk, f"{plan} Q at {stage}")
            assert_ci_contains(s[f"utilisation_{role}"], x * sk, f"{plan} utilisation of {role}", max_rel=0.05)


@pytest.mark.parametrize("plan", CONWIP_PLANS)
def test_conwip_backlog_waits_outside_the_model(plan):
    """The backlog draws a lead only when a slot is free: no deal waits for a slot (so none can cool or go stale
    before it starts), the line holds exactly N deals all along, and only N deals are alive at the end."""
    sc = load("conwip")
    n, _, _ = conwip_plan(plan)
    funnel = Funnel(sc, plan, replication_seed(sc.seed, 0))
    rd = run_data(sc, plan, 0, funnel.run())
    c = rd.cols
    assert len(funnel.live) == n, f"{plan}: {len(funnel.live)} deals alive at the end, not N = {n}"
    assert np.array_equal(rd.enter[:, 0], c["created"]), f"{plan}: a deal waited between creation and the line"
    names = {OUTCOMES[o] for o in np.unique(c["outcome"])}
    assert names == {"won", "open"}, f"{plan}: outcomes {names}"
    assert (c["outcome"] == OUTCOMES.index("open")).sum() == n
    end = np.where(np.isnan(c["closed"]), sc.horizon_days, c["closed"])
    assert max_concurrent(c["created"], end) == n, f"{plan}: more or fewer than N deals at once"
    assert_little(little_check(rd), plan)


@pytest.mark.parametrize("name", ["md1", "mg1_cv05", "mg1_cv2", "gg1"])
def test_littles_law_general_service(name):
    sc = load(name)
    # one replication, shorter than the statistical runs: Little's law holds path by path, up to the edges of
    # the window (deals open across its ends), which gg1's five-day wait in the pacer's queue needs 500 days for
    sc = sc.model_copy(update={"horizon_days": min(sc.horizon_days, 500.0)})
    assert_little(_little(sc, next(iter(sc.plans))), name)
