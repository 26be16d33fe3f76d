"""Render a few demo reports to docs/samples/ as PDF and XLSX, with PNG previews of the PDF pages.

Run: ``make samples`` (or ``.venv/bin/python scripts/samples.py [--out DIR] [--dpi N]``). The
reports come from the demo fleet's simulated day of the API reference (2020-10-06, Moscow):

- ``trips-3-vehicles``: trips (plugin 4) of three vehicles, with the summary sheet;
- ``sensors-chart``: measuring sensors (plugin 9), fuel and cargo temperature, with charts;
- ``empty``: a trip report of a vehicle with no data in the period;
- ``cyrillic``: the trip report for a Russian user (ru_RU), with a Cyrillic title.

Previews are made with ``pdftoppm`` (Debian/Ubuntu: ``apt-get install poppler-utils``) when it is
on the PATH, else with pypdfium2, which ``make samples`` installs (the project's ``samples`` extra).
Nothing is written unless every sample and preview can be made: without a rasteriser the script
stops before touching docs/samples.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleet_reports.demo import DEMO_TIME_ZONE, DEMO_TRACKERS, PLACES, demo_track
from fleet_reports.engine.model import ReportContext, Track, TrackerInfo
from fleet_reports.engine.report import build_report
from fleet_reports.render import render_report
from fleet_reports.service.worker import document_info

ROOT = Path(__file__).resolve().parents[1]
DAY = dt.date(2020, 10, 6)
ZONE = dt.timezone(dt.timedelta(hours=3))  # Moscow, no DST since 2014
FROM_MS = int(dt.datetime.combine(DAY, dt.time(0), tzinfo=ZONE).timestamp() * 1000)
TO_MS = FROM_MS + 86_400_000 - 1000
PAGES = 4  # previews per PDF (title, contents, then the first sheets)


def tracker(tracker_id: int) -> TrackerInfo:
    return next(t for t in DEMO_TRACKERS if t.id == tracker_id)


def loader(empty: bool = False) -> Callable[[int, int, int], Track]:
    def load(tracker_id: int, a: int, b: int) -> Track:
        if empty:
            return Track.empty()
        first = dt.datetime.fromtimestamp(a / 1000, dt.UTC).date()
        last = dt.datetime.fromtimestamp(b / 1000, dt.UTC).date()
        days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
        track = Track.concat([demo_track(tracker_id, d) for d in days])
        return track.take((track.t >= a) & (track.t <= b))

    return load


def context(title: str, plugin: dict[str, Any], trackers: tuple[int, ...], locale: str = "en_US") -> ReportContext:
    return ReportContext(
        report_id=1,
        title=title,
        created="2020-10-07 09:00:00",
        period_from=f"{DAY} 00:00:00",
        period_to=f"{DAY} 23:59:59",
        from_ms=FROM_MS,
        to_ms=TO_MS,
        time_zone=DEMO_TIME_ZONE,
        locale=locale,
        measurement_system="metric",
        time_filter={"from": "00:00", "to": "23:59", "weekdays": [1, 2, 3, 4, 5, 6, 7]},
        plugin=plugin,
        trackers=tuple(tracker(i) for i in trackers),
        places=PLACES,
    )


SAMPLES: list[tuple[str, ReportContext, bool]] = [
    (
        "trips-3-vehicles",
        context("Trip report", {"plugin_id": 4, "show_idle_duration": True}, (669673, 345678, 456789)),
        False,
    ),
    (
        "sensors-chart",
        context(
            "Measuring sensors report",
            {
                "plugin_id": 9,
                "details_interval_seconds": 3600,
                "sensors": [
                    {"tracker_id": 345678, "sensor_id": 345001},
                    {"tracker_id": 123456, "sensor_id": 123456},
                ],
            },
            (345678, 123456),
        ),
        False,
    ),
    ("empty", context("Trip report", {"plugin_id": 4}, (456789,)), True),
    (
        "cyrillic",
        context("Отчёт о поездках", {"plugin_id": 4, "show_idle_duration": True}, (669673, 345678), "ru_RU"),
        False,
    ),
]


def rasteriser() -> str | None:
    """What makes the PNG previews here: ``pdftoppm``, ``pypdfium2``, or None."""
    if shutil.which("pdftoppm"):
        return "pdftoppm"
    try:
        import pypdfium2  # type: ignore[import-not-found, unused-ignore]  # noqa: F401
    except ImportError:
        return None
    return "pypdfium2"


def previews(pdf: Path, out: Path, dpi: int) -> list[Path]:
    """PNG images of the first pages of ``pdf``: ``<stem>-<page>.png`` (``out`` holds no others)."""
    stem = out / pdf.stem
    if shutil.which("pdftoppm"):
        command = ["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", str(PAGES), str(pdf), str(stem)]
        subprocess.run(command, check=True)
        made = sorted(out.glob(f"{pdf.stem}-*.png"))
        for path in made:  # pdftoppm pads page numbers ("-01") when there are ten or more
            path.rename(out / f"{pdf.stem}-{int(path.stem.rsplit('-', 1)[1])}.png")
        return sorted(out.glob(f"{pdf.stem}-*.png"))
    import pypdfium2  # type: ignore[import-not-found, unused-ignore]

    document = pypdfium2.PdfDocument(str(pdf))
    paths = []
    for k in range(min(PAGES, len(document))):
        path = out / f"{pdf.stem}-{k + 1}.png"
        document[k].render(scale=dpi / 72).to_pil().save(path)
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "samples")
    parser.add_argument("--dpi", type=int, default=70, help="resolution of the PNG previews")
    parser.add_argument("--no-previews", action="store_true", help="only the PDF and XLSX files")
    args = parser.parse_args()
    if not args.no_previews and rasteriser() is None:
        print(
            f"samples: nothing changed in {args.out}: no PDF rasteriser for the previews; run `make samples` "
            "(it installs pypdfium2 from the project's samples extra), install poppler-utils (pdftoppm), "
            "or pass --no-previews",
            file=sys.stderr,
        )
        return 2
    # Everything is made in a scratch folder first: a failure half-way leaves docs/samples as it was.
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        made: list[str] = []
        for name, ctx, empty in SAMPLES:
            report = build_report(ctx, loader(empty), lambda _: None)
            info = document_info(ctx)
            for fmt in ("pdf", "xlsx"):
                (work / f"{name}.{fmt}").write_bytes(render_report(report, fmt, headless=False, info=info))
            pngs = [] if args.no_previews else previews(work / f"{name}.pdf", work, args.dpi)
            made.append(f"{name}: {name}.pdf, {name}.xlsx, {len(pngs)} preview(s)")
        args.out.mkdir(parents=True, exist_ok=True)
        for name, _, _ in SAMPLES:
            if not args.no_previews:
                for old in args.out.glob(f"{name}-*.png"):
                    old.unlink()
            for path in work.glob(f"{name}*"):
                shutil.copyfile(path, args.out / path.name)
    print("\n".join(made))
    return 0


if __name__ == "__main__":
    sys.exit(main())
