"""GPX track files (1.0 and 1.1, any namespace prefixes): one fix per ``trkpt``.

``lat``/``lon`` attributes, ``time``, ``ele`` -> alt; ``speed`` (the GPX 1.0 element or any
extension element of that name, m/s) -> km/h; ``course`` -> heading; ``sat`` -> satellites;
``hdop``. A rejection's line is the trkpt's 1-based ordinal. Files with a DTD or entity
declarations are refused (untrusted input: no entity expansion).
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from fleet_reports.ingest.fixes import RawTable
from fleet_reports.ingest.types import IngestError

_CHILDREN = {"ele": "alt", "time": "time", "speed": "speed", "course": "heading", "sat": "satellites", "hdop": "hdop"}
MS_TO_KMH = 3.6
_DECLARATION = re.compile(rb"<!(?i:doctype|entity)")
_CHUNK = 1 << 16


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def read_gpx(data: bytes) -> RawTable:
    import xml.etree.ElementTree as ET

    import pyarrow as pa

    if _DECLARATION.search(data):
        raise IngestError("GPX with a DOCTYPE or ENTITY declaration is refused (untrusted XML)")
    out: dict[str, list[str | None]] = {k: [] for k in ("lat", "lng", *_CHILDREN.values())}
    try:
        with _collector_paused():
            root = _collect_points(data, out)
    except ET.ParseError as exc:
        line, col = exc.position
        raise IngestError(f"not valid XML: {exc} (line {line}, column {col})") from None
    if root != "gpx":
        raise IngestError(f"not a GPX file: the root element is <{root}>, not <gpx>")
    columns: dict[str, Any] = {k: pa.array(v, pa.string()) for k, v in out.items()}
    return RawTable(
        columns=columns,
        lines=np.arange(1, len(out["lat"]) + 1, dtype=np.int64),
        scale={"speed": MS_TO_KMH},
    )


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off meanwhile: millions of short-lived elements, it would
    rescan them all."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc_was_enabled:
            gc.enable()


def _collect_points(data: bytes, out: dict[str, list[str | None]]) -> str:
    """Append each trkpt's attributes and child texts to the columns of ``out`` (None where the
    point has none), streaming; the local name of the root element (ET.ParseError if not XML)."""
    import xml.etree.ElementTree as ET

    lat, lng = out["lat"], out["lng"]
    columns_of = {k: out[v] for k, v in _CHILDREN.items()}
    children = list(columns_of.items())
    kinds: dict[str, str] = {}  # tag -> local name, for the tags this file uses
    root = ""
    parser: Any = ET.XMLPullParser(events=("end",))
    view = memoryview(data)
    for offset in range(0, len(data), _CHUNK):
        parser.feed(view[offset : offset + _CHUNK])
        for _, elem in parser.read_events():
            tag = elem.tag
            kind = kinds.get(tag)
            if kind is None:
                kind = kinds[tag] = _local(tag)
            root = kind
            if kind != "trkpt":
                continue
            attrib = elem.attrib
            lat.append(attrib.get("lat"))
            lng.append(attrib.get("lon"))
            found: dict[str, str | None] = {}
            for sub in elem.iter():
                name = kinds.get(sub.tag)
                if name is None:
                    name = kinds[sub.tag] = _local(sub.tag)
                if name in columns_of and name not in found:
                    found[name] = sub.text
            for name, column in children:
                column.append(found.get(name))
            elem.clear()
    parser.close()
    return root
