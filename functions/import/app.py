"""Lambda: S3 ObjectCreated events of the track bucket's incoming/ prefix (track file imports)."""

from fleet_reports.entry import import_handler

handler = import_handler()
