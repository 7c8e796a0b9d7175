"""leanflow: a lean sales-flow discrete-event simulator.

The Python API (``leanflow.api``), loaded on first use so that ``import leanflow`` stays light:

    import leanflow as lf
    r = lf.run("scenarios/default.yaml")
    r.verdict.table

and the studies (``leanflow.api_studies``): ``lf.optimise(...)``, ``lf.forecast(...)``.
"""

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = ("Results", "SweepResults", "Verdict", "compare", "load_results", "load_scenario", "load_sweep_results", "run",
        "sweep")
_STUDIES = ("ForecastResults", "OptimiseResults", "forecast", "optimise")
__all__ = ["__version__", *_API, *_STUDIES]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module("leanflow.api"), name)
    if name in _STUDIES:
        return getattr(import_module("leanflow.api_studies"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
