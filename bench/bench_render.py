"""Benchmark: rendering large reports to XLSX, XLS and PDF.

Run: ``.venv/bin/python bench/bench_render.py [--rows N] [--pdf-rows N] [--formats xlsx,xls,pdf]``.
Each format renders in a fresh process (so its peak memory, ru_maxrss, is its own) a trips-like
report of N rows (times with addresses, distances, durations, speeds) spread over day groups
with totals, plus a summary. Prints wall time, peak memory and file size per format against the
targets: XLSX 100,000 rows < 5 s and < 300 MB; XLS 100,000 rows < 5 s; PDF 10,000 rows < 10 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from typing import Any

T0 = 1_601_942_400_000
TARGETS = {"xlsx": (100_000, 5.0, 300.0), "xls": (100_000, 5.0, None), "pdf": (10_000, 10.0, None)}


def big_report(rows: int, per_day: int = 40) -> dict[str, Any]:
    """A trips-like report document of ``rows`` rows in groups of ``per_day``."""
    columns = [
        {"field": "from", "title": "Movement start", "align": "left", "width": 4, "weight": 3},
        {"field": "to", "title": "Movement end", "align": "left", "width": 4, "weight": 3},
        {"field": "length", "title": "Total trips length,\nkm", "align": "right", "width": 1, "weight": 0},
        {"field": "time", "title": "Travel time", "align": "right", "width": 1, "weight": 0},
        {"field": "avg_speed", "title": "Average speed,\nkm/h", "align": "right", "width": 1, "weight": 0},
        {"field": "max_speed", "title": "Max. speed,\nkm/h", "align": "right", "width": 1, "weight": 0},
    ]
    groups = []
    for g in range(0, rows, per_day):
        day_rows = []
        for k in range(g, min(g + per_day, rows)):
            start = T0 + k * 1_800_000
            end = start + 1_200_000
            hh, mm = divmod((k * 30) % 1440, 60)
            day_rows.append(
                {
                    "from": {"v": f"{hh:02d}:{mm:02d} - Lenina street {k % 97}, Moscow", "raw": float(start)},
                    "to": {"v": f"{hh:02d}:{(mm + 20) % 60:02d} - Depot {k % 13}, Moscow", "raw": float(end)},
                    "length": {"v": f"{(k % 500) / 10 + 1:.2f}", "raw": round((k % 500) / 10 + 1, 2)},
                    "time": {"v": "00:20", "raw": 1200.0},
                    "avg_speed": {"v": str(40 + k % 50), "raw": float(40 + k % 50)},
                    "max_speed": {"v": str(60 + k % 60), "raw": float(60 + k % 60)},
                }
            )
        total = {
            "text": "In total:",
            "time": {
                "v": f"{len(day_rows) * 20 // 60:02d}:{len(day_rows) * 20 % 60:02d}",
                "raw": len(day_rows) * 1200.0,
            },
        }
        groups.append({"header": f"Day {g // per_day + 1} : {len(day_rows)}", "rows": day_rows, "total": total})
    table = {"type": "table", "header": "Trips", "columns": columns, "column_groups": [], "data": groups}
    summary = {
        "type": "map_table",
        "header": "Summary",
        "rows": [{"name": "Trips", "v": str(rows), "raw": float(rows), "highlight": False}],
    }
    return {
        "id": 1,
        "title": "Trip report",
        "sheets": [{"header": "Bench van", "entity_ids": [1], "sections": [table, summary]}],
    }


def one(fmt: str, rows: int) -> None:
    from fleet_reports.render import DocumentInfo, render_report

    report = big_report(rows)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    info = DocumentInfo(
        "Trip report",
        "2020-10-06 00:00:00",
        "2020-12-31 23:59:59",
        "Europe/Moscow",
        "en_US",
        "metric",
        ("Bench van",),
        "2021-01-01 10:00:00",
    )
    began = time.perf_counter()
    data = render_report(report, fmt, headless=False, info=info)
    elapsed = time.perf_counter() - began
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {"format": fmt, "rows": rows, "seconds": elapsed, "max_rss_mb": rss, "document_mb": before}
    out["bytes"] = len(data)
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000, help="rows of the XLSX and XLS reports")
    ap.add_argument("--pdf-rows", type=int, default=10_000, help="rows of the PDF report")
    ap.add_argument("--formats", default="xlsx,xls,pdf")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(args.one, args.rows)
        return
    print(f"machine: {platform.machine()}, CPython {platform.python_version()}")
    for fmt in args.formats.split(","):
        rows = args.pdf_rows if fmt == "pdf" else args.rows
        out = subprocess.run(
            [sys.executable, __file__, "--one", fmt, "--rows", str(rows)], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        target_rows, target_s, target_mb = TARGETS[fmt]
        size = r["bytes"] / 1e6
        line = f"{fmt}: {r['rows']:,} rows in {r['seconds']:.2f} s, peak {r['max_rss_mb']:.0f} MB"
        line += f" ({r['document_mb']:.0f} MB before rendering: Python + the report document), {size:.1f} MB file"
        line += f" (target: {target_rows:,} rows < {target_s:.0f} s" + (
            f", < {target_mb:.0f} MB)" if target_mb else ")"
        )
        print(line)


if __name__ == "__main__":
    main()
