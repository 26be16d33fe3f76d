"""Tracks out as the documented upload formats (CSV, NDJSON, GPX), at the stored precision.

Values are written with the digits the store keeps (lat/lng 7 decimals, speed/heading/alt 1,
hdop 2, odometer 3, sensors as the shortest text that reads back the same), so that parsing the
output gives back the stored values exactly. Unknown values are empty cells / absent keys.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import numpy.typing as npt

from fleet_reports.engine.model import Track

_DIGITS = {"lat": 7, "lng": 7, "speed": 1, "heading": 1, "alt": 1, "hdop": 2, "odometer": 3}
CSV_COLUMNS = ("time", "lat", "lng", "speed", "heading", "alt", "satellites", "hdop", "odometer", "ignition")
GPX_NS = "http://www.topografix.com/GPX/1/1"
GPXTPX_NS = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"


def _times(t: npt.NDArray[np.int64]) -> Any:
    """ISO 8601 UTC strings with Z; milliseconds only when not zero."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stamps = pa.array(t, pa.timestamp("ms"))
    text = pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%S")  # seconds carry ".mmm"
    text = pc.replace_substring_regex(text, r"\.000$", "")
    return pc.binary_join_element_wise(text, pa.scalar("Z"), "")


def _fixed(values: npt.NDArray[Any], digits: int) -> Any:
    """Decimal text with at most ``digits`` decimals, trailing zeros dropped; null when unknown."""
    import pyarrow as pa
    import pyarrow.compute as pc

    x = np.asarray(values, np.float64)
    unknown = ~np.isfinite(x)
    q = np.round(np.where(unknown, 0.0, x) * 10.0**digits).astype(np.int64)
    dec = pa.Array.from_buffers(
        pa.decimal128(38, digits),
        len(q),
        [pa.array(~unknown).buffers()[1] if unknown.any() else None, pa.py_buffer(np.stack([q, q >> 63], 1).tobytes())],
        null_count=int(unknown.sum()),
    )
    text = pc.cast(dec, pa.string())
    if digits:
        text = pc.replace_substring_regex(text, r"\.?0+$", "")
    return text


def _shortest(values: npt.NDArray[Any]) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    x = np.asarray(values, np.float64)
    return pc.cast(pa.array(x, mask=~np.isfinite(x)), pa.string())


def _ints(values: npt.NDArray[Any]) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    v = np.asarray(values, np.int64)
    return pc.cast(pa.array(v, mask=v < 0), pa.string())


def _text_columns(track: Track) -> dict[str, Any]:
    """Column name -> string array (null = unknown), only columns with a known value."""
    out: dict[str, Any] = {"time": _times(track.t)}
    for name in CSV_COLUMNS[1:]:
        values = getattr(track, name)
        if name in ("satellites", "ignition"):
            if bool(np.any(values >= 0)):
                out[name] = _ints(values)
        elif bool(np.any(np.isfinite(values))) or name in ("lat", "lng"):
            out[name] = _fixed(values, _DIGITS[name])
    for name, values in track.sensors.items():
        if bool(np.any(np.isfinite(values))):
            out[name] = _shortest(values)
    return out


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def _join_lines(lines: Any, head: str = "", tail: str = "") -> bytes:
    body = "\n".join(lines.to_pylist()) if len(lines) else ""
    return (head + body + ("\n" if len(lines) else "") + tail).encode("utf-8")


def format_csv(track: Track) -> bytes:
    """The documented CSV: header ``time,lat,lng,speed,heading,alt,satellites,hdop,odometer,
    ignition,<sensor inputs>`` (only columns with a known value), one fix per line."""
    import pyarrow.compute as pc

    cols = _text_columns(track)
    header = ",".join(_csv_field(n) for n in cols)
    lines = pc.binary_join_element_wise(*cols.values(), ",", null_handling="replace", null_replacement="")
    return _join_lines(lines, header + "\n")


def format_ndjson(track: Track) -> bytes:
    """One JSON object per fix with the CSV's keys; unknown values are left out."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = _text_columns(track)
    parts = []
    for name, text in cols.items():
        key = json.dumps(name, ensure_ascii=False) + ":"
        if name == "time":
            parts.append(pc.binary_join_element_wise(pa.scalar(key + '"'), text, pa.scalar('"'), ""))
        elif name == "ignition":
            b = pc.if_else(pc.equal(text, "1"), "true", "false")
            parts.append(pc.binary_join_element_wise(pa.scalar(key), b, ""))
        else:
            parts.append(pc.binary_join_element_wise(pa.scalar(key), text, ""))
    body = pc.binary_join_element_wise(*parts, ",", null_handling="skip")
    lines = pc.binary_join_element_wise(pa.scalar("{"), body, pa.scalar("}"), "")
    return _join_lines(lines)


def format_gpx(track: Track) -> bytes:
    """GPX 1.1: one ``trkpt`` per fix with lat/lon, ele, time, sat and hdop, and the speed (m/s)
    and course in a Garmin TrackPointExtension."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def element(tag: str, text: Any) -> Any:
        return pc.binary_join_element_wise(pa.scalar(f"<{tag}>"), text, pa.scalar(f"</{tag}>"), "")

    lat, lng = _fixed(track.lat, 7), _fixed(track.lng, 7)
    head = pc.binary_join_element_wise(pa.scalar('<trkpt lat="'), lat, pa.scalar('" lon="'), lng, pa.scalar('">'), "")
    speed_ms = np.asarray(track.speed, np.float64) / 3.6
    inner = pc.binary_join_element_wise(
        element("gpxtpx:speed", _fixed(speed_ms, 6)),
        element("gpxtpx:course", _fixed(track.heading, 1)),
        "",
        null_handling="skip",
    )
    inner = pc.if_else(pc.equal(inner, ""), pa.scalar(None, pa.string()), inner)
    ext = pc.binary_join_element_wise(
        pa.scalar("<extensions><gpxtpx:TrackPointExtension>"),
        inner,
        pa.scalar("</gpxtpx:TrackPointExtension></extensions>"),
        "",
    )
    body = pc.binary_join_element_wise(
        head,
        element("ele", _fixed(track.alt, 1)),
        element("time", _times(track.t)),
        element("sat", _ints(track.satellites)),
        element("hdop", _fixed(track.hdop, 2)),
        ext,
        pa.scalar("</trkpt>"),
        "",
        null_handling="skip",
    )
    start = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<gpx version="1.1" creator="fleet-reports" xmlns="{GPX_NS}" xmlns:gpxtpx="{GPXTPX_NS}">\n'
        "<trk><trkseg>\n"
    )
    return _join_lines(body, start, "</trkseg></trk>\n</gpx>\n")
