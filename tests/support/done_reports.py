"""Done reports written straight into a pool, as generate and the worker leave them (for the
list's tests and benchmark: pools of any size without computing a report)."""

from __future__ import annotations

import time


def put_done_reports(
    table_name: str, pool: int, count: int, *, first_tracker: int, trackers: int = 1, title: str = "Trip report"
) -> list[int]:
    """``count`` done reports of the documentation's example shape in ``pool`` (new ids from the
    id counter, naming ``trackers`` trackers from ``first_tracker`` on); their ids, oldest first."""
    import boto3

    from fleet_reports.store import reports as store
    from fleet_reports.store.records import LocaleInfo, ReportRecord, ReportState

    now = int(time.time())
    first = store.next_report_id() + 1
    store.ensure_id_floor(first + count)
    ids = list(range(first, first + count))
    with boto3.resource("dynamodb").Table(table_name).batch_writer() as batch:
        for rid in ids:
            record = ReportRecord.model_validate(
                dict(
                    id=rid,
                    pool=pool,
                    owner_id=pool,
                    title=title,
                    created="2020-10-08 21:59:30",
                    **{"from": "2020-10-05 00:00:00"},
                    to="2020-10-06 23:59:59",
                    time_filter={"from": "00:00:00", "to": "23:59:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
                    plugin={"plugin_id": 4, "show_seconds": False, "split": True},
                    trackers=list(range(first_tracker, first_tracker + trackers)),
                    geocoder="google",
                    locale_info=LocaleInfo(locale="en_US", time_zone="Europe/Moscow", measurement_system="metric"),
                    state=ReportState.DONE,
                    percent=100,
                    ttl=now + 86_400,
                )
            )
            batch.put_item(Item={**store.report_key(pool, rid), **record.to_item()})
    return ids
