"""Small, documented conversions of third-party GPS track formats into the import CSV of docs/data.md.

Each converter takes the bytes of one source file and returns ``{file name: CSV bytes}``: one
file per vehicle/track, ready for ``fleet-reports import OUTDIR/<file name> --tracker ID``. The
file names are safe (letters, digits, ``.``, ``_``, ``-``) and end in ``.csv``.

The output CSV has a header row; ``time`` is ISO 8601 UTC with ``Z`` (milliseconds only where
the source has them), ``lat``/``lng`` in degrees, ``speed`` in km/h, ``heading`` in degrees,
``alt`` in metres; only the columns a source can fill are written, and every further column is
a sensor input named by its header. Nothing is invented: a value the source does not give, or
gives in a form that cannot be read, is left empty (or, for time and position, passed through
verbatim) so that the importer rejects that row with a reason instead of the converter guessing.
Rows are never reordered or deduplicated here; the importer and the cleaning do that. The only
rows a converter drops are the ones its docstring names.

The GPX files of the real-track set need no converter: GPX is an import format of its own.

API for the CLI (``fleet-reports convert --from KIND FILE OUTDIR``): ``KINDS`` (kind -> one-line
description), ``convert(kind, data)``, and ``ConvertError`` for an unknown kind or a file that
is not of the kind at all (not JSON, no expected header, ...).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "KINDS",
    "ConvertError",
    "barefoot_json",
    "convert",
    "envirocar_geojson",
    "fcd_points_csv",
    "liverpool_bus_csv",
    "seventymai_txt",
]

Converted = dict[str, bytes]
Row = Mapping[str, str]

# Columns with a meaning of their own in the import CSV (docs/data.md); anything else is a sensor.
STANDARD_COLUMNS = ("time", "lat", "lng", "speed", "heading", "alt", "satellites", "hdop", "odometer", "ignition")
UK = ZoneInfo("Europe/London")
_WKT_POINT = re.compile(r"^\s*POINT\s*\(\s*(\S+)\s+(\S+)\s*\)\s*$", re.IGNORECASE)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class ConvertError(ValueError):
    """The input is not a file of the requested kind, or the kind is unknown."""


# ---------------------------------------------------------------------------------------------
# helpers


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConvertError(f"not UTF-8 text: {exc}") from exc


def _json(data: bytes) -> Any:
    try:
        return json.loads(_text(data))
    except json.JSONDecodeError as exc:
        raise ConvertError(f"not JSON: {exc}") from exc


def _dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (a missing part reads as unknown)."""
    return value if isinstance(value, dict) else {}


def _safe_name(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._") or "track"


def _iso_utc(moment: datetime) -> str:
    """``2020-03-25T16:31:52Z``, with ``.mmm`` only when the instant has milliseconds."""
    utc = moment.astimezone(UTC)
    ms = utc.microsecond // 1000
    base = utc.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{ms:03d}Z" if ms else f"{base}Z"


def _iso_from_text(value: str) -> str:
    """An ISO 8601 time with offset as UTC ``Z``; anything else verbatim (the importer judges)."""
    value = value.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return _iso_utc(moment) if moment.tzinfo is not None else value


def _number(value: Any) -> str:
    """A finite JSON/Python number as text (shortest round-trip form); anything else empty."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return ""
    return repr(value)


def _scaled(value: str, factor: float, digits: int) -> str:
    """Integer text times ``factor``, rounded to ``digits`` decimals; empty when not a number."""
    try:
        number = float(value)
    except ValueError:
        return ""
    if not math.isfinite(number):
        return ""
    return repr(round(number * factor, digits))


def _wkt_point(value: str) -> tuple[str, str]:
    """``POINT(lon lat)`` -> (lat, lng) as the source wrote them; empty when not a point."""
    match = _WKT_POINT.match(value)
    if match is None:
        return "", ""
    lon, lat = match.group(1), match.group(2)
    return lat, lon


def _csv(columns: Sequence[str], rows: Iterable[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _read_csv(data: bytes, required: Sequence[str], kind: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(_text(data)))
    header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise ConvertError(f"{kind}: header lacks {', '.join(missing)} (found: {', '.join(header) or 'nothing'})")
    return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


def _group(rows: Iterable[dict[str, str]], key: str) -> dict[str, list[dict[str, str]]]:
    groups: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


def _file_names(prefix: str, ids: Iterable[str], *, pad: bool = False) -> dict[str, str]:
    """``{id: file name}``: ``<prefix>-<safe id>.csv`` (with ``pad``, numeric ids zero-padded to one
    width so the files sort by id), with ``-2``, ``-3``, ... when two ids make the same name."""
    ids = list(ids)
    width = max((len(i) for i in ids if i.isdigit()), default=0) if pad else 0
    names: dict[str, str] = {}
    taken: set[str] = set()
    for i in ids:
        stem = f"{prefix}-{_safe_name(i.zfill(width) if i.isdigit() else i)}"
        name, n = f"{stem}.csv", 1
        while name in taken:
            n += 1
            name = f"{stem}-{n}.csv"
        taken.add(name)
        names[i] = name
    return names


# ---------------------------------------------------------------------------------------------
# converters


def liverpool_bus_csv(data: bytes) -> Converted:
    """UK Bus Open Data (BODS) positions as in movingpandas' Liverpool example: one file per bus.

    Source header: ``id, vehicle_id, trip_id, timestamp, latitude, longitude, bearing, origin,
    destination, route_name, direction, operator``. Output ``bus-<vehicle_id>.csv`` per vehicle,
    rows in source order, with:

    - ``time`` <- ``timestamp`` (``YYYY-MM-DD HH:MM:SS`` without zone) read as UK local time
      (Europe/London) and written as UTC; in January UK local time *is* UTC, so the values of the
      example file are unchanged. A summer (BST) file would shift by one hour; an ambiguous
      autumn hour is taken as its first occurrence.
    - ``lat`` <- ``latitude``, ``lng`` <- ``longitude``, ``heading`` <- ``bearing`` (often empty:
      stays empty). There is no speed: the engine derives it from positions.
    - ``trip_id`` <- ``trip_id`` (kept as a sensor column: the operator's journey number).

    Dropped: ``id`` (row id), and the per-route constants ``origin``, ``destination``,
    ``route_name``, ``direction``, ``operator``.
    """
    rows = _read_csv(data, ("vehicle_id", "trip_id", "timestamp", "latitude", "longitude", "bearing"), "BODS CSV")
    groups = _group(rows, "vehicle_id")
    names = _file_names("bus", groups)
    out: Converted = {}
    for vehicle, group in groups.items():
        converted = [
            {
                "time": _uk_local_to_utc(r["timestamp"]),
                "lat": r["latitude"],
                "lng": r["longitude"],
                "heading": r["bearing"],
                "trip_id": r["trip_id"],
            }
            for r in group
        ]
        out[names[vehicle]] = _csv(("time", "lat", "lng", "heading", "trip_id"), converted)
    return out


def _uk_local_to_utc(value: str) -> str:
    try:
        moment = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value
    return _iso_utc(moment.replace(tzinfo=UK))


# enviroCar phenomenon -> sensor column (the core ones, speed/heading/alt/hdop, are mapped apart)
ENVIROCAR_SENSORS: dict[str, str] = {
    "Rpm": "rpm",
    "Engine Load": "engine_load",
    "Throttle Position": "throttle_position",
    "Consumption": "consumption_lph",
    "CO2": "co2_kgph",
    "Calculated MAF": "maf_gps",
    "MAF": "maf_measured_gps",
    "Intake Pressure": "intake_pressure_kpa",
    "Intake Temperature": "intake_temp_c",
    "Speed": "obd_speed_kmh",
    "GPS Accuracy": "gps_accuracy",
    "GPS PDOP": "gps_pdop",
    "GPS VDOP": "gps_vdop",
}


def envirocar_geojson(data: bytes) -> Converted:
    """One enviroCar track (GeoJSON FeatureCollection from the enviroCar API) -> one CSV.

    Output ``envirocar-<track id>.csv`` (track id from the collection's ``properties.id``), one
    row per Point feature in source order, with:

    - ``time`` <- ``properties.time``; ``lng``, ``lat`` <- ``geometry.coordinates[0]``, ``[1]``
    - ``speed`` <- phenomenon ``GPS Speed`` (km/h), else ``Speed`` (the OBD-II speed, km/h)
    - ``heading`` <- ``GPS Bearing``; ``alt`` <- ``GPS Altitude``; ``hdop`` <- ``GPS HDOP``
    - sensor columns: ``rpm`` <- ``Rpm``, ``engine_load`` <- ``Engine Load`` (%),
      ``throttle_position`` <- ``Throttle Position`` (%), ``consumption_lph`` <- ``Consumption``
      (l/h, estimated by enviroCar), ``co2_kgph`` <- ``CO2`` (kg/h, estimated), ``maf_gps`` <-
      ``Calculated MAF`` (g/s), ``maf_measured_gps`` <- ``MAF`` (g/s), ``intake_pressure_kpa`` <-
      ``Intake Pressure``, ``intake_temp_c`` <- ``Intake Temperature``, ``obd_speed_kmh`` <-
      ``Speed``, ``gps_accuracy``, ``gps_pdop``, ``gps_vdop`` <- ``GPS Accuracy/PDOP/VDOP``.
      Any other numeric phenomenon becomes a column named by its name in snake case.

    A phenomenon a feature lacks (the last point of a track carries only GPS values) is empty.
    No ignition column: the source has none (``rpm`` > 0 shows the engine running; a virtual
    ignition sensor on ``rpm`` can be defined in the fleet data). Dropped: feature ids, units
    (fixed per phenomenon, shown in the column names above), and the track metadata (car make,
    model, engine, the server's ``length``).
    """
    doc = _json(data)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise ConvertError("enviroCar: expected a GeoJSON FeatureCollection with features")
    rows: list[dict[str, str]] = []
    extra: set[str] = set()
    for feature in doc["features"]:
        props = _dict(_dict(feature).get("properties"))
        geometry = _dict(_dict(feature).get("geometry"))
        coords = geometry.get("coordinates") if geometry.get("type") == "Point" else None
        if not (isinstance(coords, list) and len(coords) >= 2):
            coords = [None, None]
        lng, lat = _number(coords[0]), _number(coords[1])
        phenomenons = _dict(props.get("phenomenons")).items()
        values = {name: _number(_dict(v).get("value")) for name, v in phenomenons if isinstance(v, dict)}
        time = props.get("time")
        row = {
            "time": _iso_from_text(time) if isinstance(time, str) else "",
            "lat": lat,
            "lng": lng,
            "speed": values.get("GPS Speed") or values.get("Speed", ""),
            "heading": values.get("GPS Bearing", ""),
            "alt": values.get("GPS Altitude", ""),
            "hdop": values.get("GPS HDOP", ""),
        }
        for name, value in values.items():
            if name in ("GPS Speed", "GPS Bearing", "GPS Altitude", "GPS HDOP"):
                continue
            column = ENVIROCAR_SENSORS.get(name) or _snake(name)
            if column not in ENVIROCAR_SENSORS.values():
                extra.add(column)
            row[column] = value
        rows.append(row)
    sensors = [c for c in ENVIROCAR_SENSORS.values() if any(c in r for r in rows)] + sorted(extra)
    columns = ("time", "lat", "lng", "speed", "heading", "alt", "hdop", *sensors)
    track_id = _dict(doc.get("properties")).get("id")
    name = f"envirocar-{_safe_name(track_id)}.csv" if isinstance(track_id, str) and track_id else "envirocar.csv"
    return {name: _csv(columns, ({c: r.get(c, "") for c in columns} for r in rows))}


def _snake(name: str) -> str:
    column = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "value"
    return f"envirocar_{column}" if column in STANDARD_COLUMNS else column


def barefoot_json(data: bytes) -> Converted:
    """BMW Car IT barefoot sample (JSON array of ``{"point", "time", "id"}``) -> one CSV per id.

    Output ``barefoot-<id>.csv`` (the id with unsafe characters replaced, so ``\\x0001`` gives
    ``barefoot-x0001.csv``), rows in source order, with:

    - ``lat``, ``lng`` <- ``point`` (WKT ``POINT(lon lat)``: note the order)
    - ``time`` <- ``time`` (``YYYY-MM-DD HH:MM:SS+0200``), written as UTC

    Nothing else is in the source: no speed (the engine derives it), no heading. Nothing is
    dropped; the one 470 m jump of the sample is left for the cleaning to judge.
    """
    doc = _json(data)
    if not isinstance(doc, list):
        raise ConvertError("barefoot: expected a JSON array of {point, time, id} objects")
    groups: dict[str, list[dict[str, str]]] = {}
    for element in doc:
        item = _dict(element)
        point, time, ident = item.get("point"), item.get("time"), item.get("id")
        lat, lng = _wkt_point(point) if isinstance(point, str) else ("", "")
        row = {"time": _iso_from_text(time) if isinstance(time, str) else "", "lat": lat, "lng": lng}
        groups.setdefault(str(ident) if ident is not None else "", []).append(row)
    names = _file_names("barefoot", groups)
    return {names[ident]: _csv(("time", "lat", "lng"), rows) for ident, rows in groups.items()}


def seventymai_txt(data: bytes) -> Converted:
    """70mai dash-cam GPS log (``GPSData*.txt``, as decoded by GPSBabel's ``seventymai.cc``) -> one CSV.

    The log has no header; a ``$V02`` line starts a recording session (the camera powered up).
    Data rows have 13 comma-separated fields. Output ``70mai.csv`` with:

    - ``time`` <- field 1 (Unix seconds, UTC)
    - ``lat`` <- field 3, ``lng`` <- field 4 (degrees)
    - ``heading`` <- field 5 / 100 (degrees); ``speed`` <- field 6 / 100 m/s x 3.6 (km/h)
    - ``session`` <- number of the ``$V02`` session the row belongs to (1, 2, ...; 0 before the
      first ``$V02``), kept as a sensor column.

    Dropped: rows whose field 2 (fix status) is ``V`` (no fix: the receiver marks the row
    invalid, and such rows carry time 0 and a ``nan`` longitude), blank lines, fields 7-9
    (three signed integers GPSBabel does not decode, probably the G-sensor), field 10 (the video
    file name) and fields 11-13 (always 0). Duplicate seconds are kept for the importer.

    Ignition: the log has no ignition field, and a session is a camera power cycle, which is
    usually but not surely an ignition cycle (sessions 1 and 2 of the sample are 69 s apart), so
    no ``ignition`` column is written; trips come from motion. ``session`` shows the cycles.
    """
    rows: list[dict[str, str]] = []
    session = 0
    for raw_line in _text(data).splitlines():
        line = raw_line.strip()
        if not line:
            continue
        if line.startswith("$"):
            if line.upper().startswith("$V"):
                session += 1
                continue
            raise ConvertError(f"70mai: unexpected header line {line[:40]!r}")
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 6:
            raise ConvertError(f"70mai: expected 13 comma-separated fields, got {len(fields)}: {line[:60]!r}")
        if fields[1].upper() == "V":
            continue
        rows.append(
            {
                "time": _epoch_to_iso(fields[0]),
                "lat": fields[2],
                "lng": fields[3],
                "speed": _scaled(fields[5], 0.036, 4),
                "heading": _scaled(fields[4], 0.01, 2),
                "session": str(session),
            }
        )
    if not rows and session == 0:
        raise ConvertError("70mai: no $V02 session line and no data row")
    return {"70mai.csv": _csv(("time", "lat", "lng", "speed", "heading", "session"), rows)}


def _epoch_to_iso(value: str) -> str:
    try:
        seconds = int(value)
    except ValueError:
        return value
    return _iso_utc(datetime.fromtimestamp(seconds, UTC))


def fcd_points_csv(data: bytes) -> Converted:
    """Floating car data points of map-matching-2 (``id,time,geometry``) -> one CSV per track id.

    Each ``id`` is a separate track, possibly of a different vehicle: several tracks overlap
    in time, so they cannot be one vehicle. Output ``fcd-<id>.csv`` per id (numeric ids padded to
    one width: ``fcd-000.csv`` ... ``fcd-262.csv``), rows in source order, with:

    - ``time`` <- ``time`` (ISO 8601 with ``+00:00``), written as UTC ``Z``
    - ``lat``, ``lng`` <- ``geometry`` (WKT ``POINT (lon lat)``: note the order)

    Nothing else is in the source and nothing is dropped: rows that share a timestamp are kept
    (the cleaning keeps the last of each time).
    """
    rows = _read_csv(data, ("id", "time", "geometry"), "floating car data CSV")
    groups = _group(rows, "id")
    names = _file_names("fcd", groups, pad=True)
    out: Converted = {}
    for ident in sorted(groups, key=lambda i: (not i.isdigit(), int(i) if i.isdigit() else 0, i)):
        converted = []
        for r in groups[ident]:
            lat, lng = _wkt_point(r["geometry"])
            converted.append({"time": _iso_from_text(r["time"]), "lat": lat, "lng": lng})
        out[names[ident]] = _csv(("time", "lat", "lng"), converted)
    return out


# ---------------------------------------------------------------------------------------------
# dispatch

_CONVERTERS: dict[str, tuple[Callable[[bytes], Converted], str]] = {
    "liverpool_bus_csv": (liverpool_bus_csv, "UK BODS bus positions CSV (movingpandas Liverpool): one CSV per vehicle"),
    "envirocar_geojson": (envirocar_geojson, "enviroCar track GeoJSON with OBD-II phenomenons: one CSV with sensors"),
    "barefoot_json": (barefoot_json, "barefoot JSON array of WKT POINT(lon lat) + time: one CSV per id"),
    "seventymai_txt": (seventymai_txt, "70mai dash-cam GPSData*.txt log: one CSV, invalid (V) rows dropped"),
    "fcd_points_csv": (fcd_points_csv, "floating car data CSV id,time,WKT geometry: one CSV per track id"),
}

KINDS: dict[str, str] = {kind: description for kind, (_, description) in _CONVERTERS.items()}


def convert(kind: str, data: bytes) -> Converted:
    """Convert one source file of ``kind`` (a key of ``KINDS``) to ``{file name: CSV bytes}``."""
    entry = _CONVERTERS.get(kind)
    if entry is None:
        raise ConvertError(f"unknown kind {kind!r}; known kinds: {', '.join(KINDS)}")
    return entry[0](data)
