"""Fleet Reports: a GPS fleet report service wire-compatible with the Navixy /report/tracker API."""

__version__ = "0.1.0"
