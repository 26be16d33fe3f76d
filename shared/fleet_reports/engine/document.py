"""The report document's types: what the engine builds, the worker stores as JSON, ``retrieve``
serves and the renderers read (docs/report-model.md).

TypedDicts only: at run time the document is plain dicts and lists, exactly the JSON, so these
types cost nothing and change nothing in it. The keys of each type are listed in the order the
engine writes them (the order of the JSON; tests/unit/test_report_document.py checks the kept
demo reports against them, key for key). No imports beyond ``typing``: the renderers and the API
path read these types without loading numpy.

A document read back from stored JSON is not checked against these types: who loads one says so
with a single ``cast`` where it parses it (``service.reports.retrieve``).

Shape::

    ReportDocument  id, title, created, from, to, time_filter, sheets[], diagnostics
    Sheet           header, entity_ids[], additional_field, sections[]
    Section         TableSection | MapTableSection | TextSection | ChartSection, by "type"
    TableSection    type "table", header, columns[], column_groups[], data[] (Group)
    Group           header, rows[] (TableRow: field -> Cell), total? (Total: "text" + fields)
    MapTableSection type "map_table", header, rows[] (MapRow: name, v, raw, highlight)
    TextSection     type "text", text, style
    ChartSection    type "chart": a line chart (x_axis time | mileage) or, with kind "bar",
                    a bar chart (x_axis category with its categories; x = a category's index)
    Cell            v, raw, type "value", location? {lat, lng}
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict, cast

__all__ = [
    "Align",
    "BarChartSection",
    "CategoryAxis",
    "Cell",
    "ChartSection",
    "Column",
    "Group",
    "LineAxis",
    "LineChartSection",
    "Location",
    "MapRow",
    "MapTableSection",
    "Point",
    "ReportDocument",
    "Section",
    "Series",
    "Sheet",
    "TableRow",
    "TableSection",
    "TextSection",
    "TextStyle",
    "Total",
    "Value",
    "WireTimeFilter",
    "exact_seconds_of",
    "with_exact_seconds",
]

Align = Literal["left", "right", "center"]
TextStyle = Literal["normal", "small_print"]


# ---------------------------------------------------------------- cells


class Location(TypedDict):
    """Where an address cell's place is (degrees, 7 decimals)."""

    lat: float
    lng: float


class Value(TypedDict):
    """What a cell and a map row both carry: the display string (localised, unit-converted) and
    the number behind it. A reader that needs only these two takes a ``Value``: a ``Cell`` or a
    ``MapRow`` is one (TypedDicts match by their keys)."""

    v: str
    raw: float


class Cell(TypedDict):
    """A table cell: ``{v, raw, type: "value", location?}``. ``raw`` is the instant (UTC epoch
    ms) of a time or an address, the seconds of a duration, else the number shown."""

    v: str
    raw: float
    type: Literal["value"]
    location: NotRequired[Location]  # address cells


TableRow = dict[str, Cell]
"""A table's data row: a cell per column ``field`` (a field may be missing: an empty cell)."""

Total = dict[str, Cell | str]
"""A group's total row: ``"text"`` (a string, "In total:") first, then a cell per totalled field."""


# ---------------------------------------------------------------- sections


class Column(TypedDict):
    """A table column: ``title`` may hold ``"\\n"``; ``width`` is relative (1: a number column)."""

    align: Align
    field: str
    title: str
    width: int
    weight: int
    highlight_min_max: bool


class Group(TypedDict):
    """A table's group of rows (a local day, or a driver and day): its header (``"Oct 6, 2020
    (Tue) : 7"``), rows and, unless the plugin has none, a total."""

    header: str
    rows: list[TableRow]
    total: NotRequired[Total]


class TableSection(TypedDict):
    type: Literal["table"]
    header: str
    columns: list[Column]
    column_groups: list[object]  # always empty: the seed's key; no plugin groups its columns
    data: list[Group]


class MapRow(TypedDict):
    """A summary (map_table) row, with the seed's keys ``name, v, raw, highlight`` and no other.

    A duration's ``raw`` is in MINUTES rounded to 2 decimals (the wire format's compatibility
    quirk); the engine's rows also carry the exact seconds, not as a key (see
    :func:`with_exact_seconds`)."""

    name: str
    v: str
    raw: float
    highlight: bool


class MapTableSection(TypedDict):
    type: Literal["map_table"]
    header: str
    rows: list[MapRow]


class TextSection(TypedDict):
    type: Literal["text"]
    text: str
    style: TextStyle


Point = list[float]
"""A chart point ``[x, y]``."""


class LineAxis(TypedDict):
    """A line chart's x axis: ``time`` (x = UTC epoch ms, shown in the report's zone) or
    ``mileage`` (x = the distance driven, in ``units``)."""

    type: Literal["time", "mileage"]
    title: str
    units: str


class CategoryAxis(TypedDict):
    """A bar chart's category axis: a point's x is the index of its category in ``categories``."""

    type: Literal["category"]
    title: str
    units: str
    categories: list[str]


class Series(TypedDict):
    name: str
    units: str
    points: list[Point]


class LineChartSection(TypedDict):
    """A line chart (a sensor's readings). The JSON has no ``kind`` key for it: a chart without
    one is a line chart."""

    type: Literal["chart"]
    kind: NotRequired[Literal["line"]]  # never written by the engine
    header: str
    x_axis: LineAxis
    series: list[Series]


class BarChartSection(TypedDict):
    """A bar chart (the time in each zone): one bar per category and series, in order."""

    type: Literal["chart"]
    kind: Literal["bar"]
    header: str
    x_axis: CategoryAxis
    series: list[Series]


ChartSection = LineChartSection | BarChartSection
Section = TableSection | MapTableSection | TextSection | ChartSection


# ---------------------------------------------------------------- sheets and the document


class Sheet(TypedDict):
    """One tracker's sheet (or the summary sheet): ``entity_ids`` the trackers it covers."""

    header: str
    entity_ids: list[int]
    additional_field: str  # "" unless a plugin has something to say
    sections: list[Section]


WireTimeFilter = TypedDict("WireTimeFilter", {"from": str, "to": str, "weekdays": list[int]}, total=False)
"""The report's time filter as the request gave it (``from``/``to`` ``HH:mm:ss``, ISO weekdays)."""

ReportDocument = TypedDict(
    "ReportDocument",
    {
        "id": int,
        "title": str,
        "created": str,  # local "yyyy-MM-dd HH:mm:ss"
        "from": str,  # the period, local, as the client sent it
        "to": str,
        "time_filter": WireTimeFilter,
        "sheets": list[Sheet],
        "diagnostics": dict[str, dict[str, int]],  # per tracker id: the cleaning's drop counts
    },
)
"""The whole report document, its top-level keys as ``engine.report.build_report`` writes them."""


# ---------------------------------------------------------------- exact seconds of map rows


class _ExactRow(dict[str, object]):
    """A map row that also knows the exact seconds behind its duration, as an attribute: the JSON
    and equality stay the row's keys."""

    exact_seconds: float | None = None


def with_exact_seconds(row: MapRow, seconds: float) -> MapRow:
    """``row`` (a summary duration, ``raw`` in minutes with 2 decimals) carrying the exact
    ``seconds`` for the renderers: too coarse a ``raw`` would keep a spreadsheet's summary from
    equaling the sum of the rows it totals (9,622 s -> 160.37 min -> 9,622.2 s). The seconds
    ride as an attribute of a dict subclass, not a key, so the JSON stays the seed's; a row read
    back from JSON has none (:func:`exact_seconds_of` is then None)."""
    out = _ExactRow(row)
    out.exact_seconds = float(seconds)
    return cast(MapRow, out)  # the same keys and values: the attribute is invisible to the type


def exact_seconds_of(row: Value) -> object:
    """The exact seconds a map row carries (:func:`with_exact_seconds`), or None."""
    return getattr(row, "exact_seconds", None)
