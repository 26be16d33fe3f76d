"""The drive simulator: known-answer drives for engine tests and the demo fleet's tracks.

Pure numpy, deterministic for a seed, no AWS. ``drive.Scenario`` tells a vehicle's story and
builds its track and truth; the other modules are its parts: ``roads`` (road-like paths),
``motion`` (phases, knots, the driven path, speed profiles), ``truth`` (the known answer),
``sampling`` (when the logger records, what a fix reports, outliers), ``sensors`` and ``geo``.
The demo fleet's days are in :mod:`fleet_reports.demo`.
"""
