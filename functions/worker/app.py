"""Lambda: the ReportJobs queue consumer (partial batch failures)."""

from fleet_reports.entry import worker_handler

handler = worker_handler()
