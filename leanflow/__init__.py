"""leanflow: a lean sales-flow discrete-event simulator."""

__version__ = "0.1.0"
