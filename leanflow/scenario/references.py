"""Cross-field checks that pydantic cannot locate: names, references, consistency.

Each check yields ``(path, message)`` with ``path`` a tuple of keys and list
indexes into the scenario document, so the loader can point at a line.
"""

from __future__ import annotations

from collections.abc import Iterator

from leanflow.scenario.paths import did_you_mean
from leanflow.scenario.schema import MAX_LEADS_PER_REPLICATION, Scenario

Path = tuple[str | int, ...]
FIT_UPPER = {"constant": "value", "uniform": "high", "triangular": "high"}


def check_references(sc: Scenario) -> list[tuple[Path, str]]:
    """Every consistency error in a structurally valid scenario."""
    return [*_run_settings(sc), *_market(sc), *_stages(sc), *_plans(sc)]


def _run_settings(sc: Scenario) -> Iterator[tuple[Path, str]]:
    if sc.warmup_days >= sc.horizon_days:
        yield ("warmup_days",), f"must be less than horizon_days ({sc.horizon_days:g})"
    leads = _peak_per_week(sc) * sc.horizon_days / 7.0
    if leads > MAX_LEADS_PER_REPLICATION:
        yield ("horizon_days",), (
            f"the poisson sources can make {leads:,.0f} leads in one replication (peak per_week x horizon_days / 7), "
            f"more than {MAX_LEADS_PER_REPLICATION:,d}: shorten the horizon or lower the rates"
        )


def _peak_per_week(sc: Scenario) -> float:
    """The highest weekly lead rate of all poisson sources together."""
    return sum(src.peak_per_week() for src in sc.market.sources.values() if src.kind == "poisson")


def _market(sc: Scenario) -> Iterator[tuple[Path, str]]:
    for name, seg in sc.market.segments.items():
        fit = seg.fit
        path = ("market", "segments", name, "fit")
        if fit.dist == "beta":
            continue
        if fit.dist == "empirical":
            upper = max(fit.values)
        elif fit.dist in FIT_UPPER:
            upper = getattr(fit, FIT_UPPER[fit.dist])
        else:
            yield path, "fit must lie in [0, 1]: use beta, constant, uniform, triangular or empirical"
            continue
        if upper > 1:
            yield path, f"fit must lie in [0, 1], but can reach {upper:g}"
    segments = list(sc.market.segments)
    for name, src in sc.market.sources.items():
        for seg in src.quality.segment_shares or {}:
            if seg not in segments:
                yield (
                    ("market", "sources", name, "quality", "segment_shares", seg),
                    f"unknown segment '{seg}'{did_you_mean(seg, segments)}",
                )


def _stages(sc: Scenario) -> Iterator[tuple[Path, str]]:
    seen: set[str] = set()
    for i, stage in enumerate(sc.process.stages):
        if stage.name in seen:
            yield ("process", "stages", i, "name"), f"stage name '{stage.name}' is used twice"
        seen.add(stage.name)


def _plans(sc: Scenario) -> Iterator[tuple[Path, str]]:
    stage_names = [s.name for s in sc.process.stages]
    kinds = {src.kind for src in sc.market.sources.values()}
    for plan_name, plan in sc.plans.items():
        base: Path = ("plans", plan_name)
        worked_by: dict[str, str] = {}
        for role_name, role in plan.roles.items():
            rpath = (*base, "roles", role_name)
            for j, stage in enumerate(role.works):
                if stage not in stage_names:
                    yield (*rpath, "works", j), f"unknown stage '{stage}'{did_you_mean(stage, stage_names)}"
                elif stage in worked_by:
                    yield (*rpath, "works", j), f"stage '{stage}' is already worked by role '{worked_by[stage]}'"
                else:
                    worked_by[stage] = role_name
            if role.prospects != "never" and "prospecting" not in kinds:
                yield (*rpath, "prospects"), "this role prospects, but market.sources has no 'prospecting' source"
            if role.assignment == "random" and not role.owns_deals:
                yield (*rpath, "assignment"), "random assignment needs owns_deals: true (a pool has no owners)"
            if not role.works and role.prospects == "never":
                yield (*rpath, "works"), "the role works no stage and does not prospect"
            for stage in role.proficiency.stages:
                if stage not in role.works:
                    yield (*rpath, "proficiency", "stages", stage), f"the role does not work stage '{stage}'"
            source = role.attrition.promote_from
            if source is not None and (source == role_name or source not in plan.roles):
                others = [r for r in plan.roles if r != role_name]
                yield (*rpath, "attrition", "promote_from"), f"no other role '{source}' in this plan" + did_you_mean(
                    source, others
                )
        for stage in stage_names:
            if stage not in worked_by:
                yield (*base, "roles"), f"no role works stage '{stage}'"
        for stage in plan.policy.wip_limits.stages:
            if stage not in stage_names:
                yield (
                    (*base, "policy", "wip_limits", "stages", stage),
                    f"unknown stage '{stage}'{did_you_mean(stage, stage_names)}",
                )
        if "backlog" in kinds and plan.policy.wip_limits.total is None:
            yield (
                (*base, "policy", "wip_limits"),
                "market has a backlog source, which needs a total WIP limit (policy.wip_limits.total)",
            )
