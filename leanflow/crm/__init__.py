"""CRM exports: mapping files, and reading an opportunity export into the canonical table.

Names load on first use (PEP 562), so importing the package costs nothing until one is used.
"""

from importlib import import_module
from typing import Any

_HOME = {
    "ExportError": "leanflow.crm.mapping",
    "ImportedExport": "leanflow.crm.importer",
    "Mapping": "leanflow.crm.mapping",
    "load_mapping": "leanflow.crm.mapping",
    "read_export": "leanflow.crm.importer",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name in _HOME:
        return getattr(import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
