"""PDF rendering with fpdf2 and the DejaVu fonts shipped with the code (Cyrillic prints).

Text the fonts have no glyph for (emoji, CJK) prints as a white square instead of vanishing;
right-to-left text (Hebrew, Arabic) is put in visual order line by line with fpdf2's Unicode
bidi algorithm (Arabic letters show their isolated forms: no shaping engine is shipped).

A title page and a clickable table of contents (unless headless), then one part per report
sheet: tables with their column titles repeated on each page, zebra rows and bold totals;
summaries; notes in small print; line charts drawn as vector lines, bar charts as horizontal
bars (labels on the left, values at the bar ends). Page numbers in the footer.
A cell shows at most a few lines; longer text ends with an ellipsis.

Column titles wrap only between words: a table's columns are widened, taking the room from
columns that have some to spare, until each title fits on at most a few lines with its words
whole; when the page is too narrow for that, the titles that still do not fit shrink, down to
``_HEADER_SIZES[-1]``. So no title is cut and the unit on its last line
("Общая длина поездок,\nкм") always shows. Only a word wider than its column even at the
smallest size breaks: after its hyphens or slashes, and inside it only when they do not help.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.bidi import BidiParagraph
from fpdf.enums import XPos, YPos

from fleet_reports.engine import document as doc
from fleet_reports.render.common import (
    Chart,
    Column,
    Plan,
    RowKind,
    chart_of,
    columns_of,
    is_chart,
    is_map_table,
    is_table,
    is_text,
    labels,
    local_time,
    map_rows,
    plan,
    printable,
    sections_of,
    table_rows,
    text_of,
    title_lines,
    zone_of,
)
from fleet_reports.render.document import DocumentInfo

_FONTS = Path(__file__).parent / "fonts"
_FONT = "DejaVu"
_BODY_PT = 7.5
_LINE = 3.6  # mm per line of body text
_PAD = 0.8  # mm above and below a cell's text
_MAX_LINES = 3  # lines a table cell shows
_MAX_HEADER_LINES = 4
_HEADER_SIZES = (_BODY_PT, 7.0, 6.5, 6.0, 5.5)  # pt: a column title shrinks before a word breaks
_MARGIN = 12.0  # mm, every side
_PAGE_MM = {"P": (210.0, 297.0), "L": (297.0, 210.0)}  # A4 (width, height) per orientation
_WORD_PIECE = re.compile(r"[^-/\u2010\u2011\u2013\u2014]*(?:[-/\u2010\u2011\u2013\u2014]+|$)")  # up to a dash or slash
_MAX_CHARS = 2_000  # characters of one string considered for a cell or a heading
_ELLIPSIS = "…"
# fpdf2 puts the page count where a cell's text holds this alias (its default, "{nb}", could come
# from a label): control characters, which :func:`printable` removes from every text it prints.
_PAGE_COUNT = "\x00N\x00"
_PORTRAIT_MAX_COLUMNS = 6

_GRID = (190, 190, 190)
_HEADER_FILL = (214, 222, 232)
_GROUP_FILL = (232, 237, 243)
_TOTAL_FILL = (224, 224, 224)
_ZEBRA_FILL = (245, 247, 250)
_SERIES_COLORS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75))
_CHART_HEIGHT = 60.0
_CHART_POINTS = 2_000  # points drawn per series at most (min/max per bucket beyond that)
_CHART_PT = 6.5  # a chart's labels and ticks
_BAR = 3.4  # mm: the thickness of a bar (2.4 when bars of several series stand side by side)
_BAR_GAP = 1.6  # mm between the bars of two categories
_BAR_TOP = 5.0  # mm above the bars: the category axis title
_BAR_BOTTOM = 11.0  # mm below the bars: ticks and the value axis title (a legend adds 5)
_BAR_HEADING = 10.0  # mm a chart's heading takes
_BAR_MIN_SLOTS = 10  # categories a bar chart too tall for a page starts with on the page it is on
_BAR_LABEL_SHARE = 0.35  # of the width, for the category labels at most
_ALIGN = {"left": "L", "right": "R", "center": "C"}
_MISSING_GLYPH = "\u25a1"  # WHITE SQUARE: in DejaVu Sans
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


class _Pdf(FPDF):
    def __init__(self, footer: str, page_word: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.add_font(_FONT, "", _FONTS / "DejaVuSans.ttf")
        self.add_font(_FONT, "B", _FONTS / "DejaVuSans-Bold.ttf")
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(True, margin=14)
        self.c_margin = 1.0
        self.alias_nb_pages(_PAGE_COUNT)
        self._page_word = page_word
        self._char_widths: dict[tuple[str, float, str], float] = {}
        self._glyphs = _glyphs(self.fonts["dejavu"]) & _glyphs(self.fonts["dejavuB"])
        self._checked: set[str] = set()
        self._missing: dict[int, str] = {}
        self._footer = self.safe(footer)

    def safe(self, text: str) -> str:
        """``text`` printable in the shipped fonts: control characters dropped, characters with
        no glyph shown as a white square."""
        text = printable(text)
        if text.isascii():
            return text
        new = set(text) - self._checked
        if new:
            self._checked |= new
            for char in new:
                if ord(char) not in self._glyphs and char not in "\n ":
                    self._missing[ord(char)] = _MISSING_GLYPH
        return text.translate(self._missing) if self._missing else text

    @staticmethod
    def visual(line: str) -> str:
        """One line in display order (right-to-left runs reversed as the bidi algorithm says)."""
        if line.isascii() or not _RTL.search(line):
            return line
        return BidiParagraph(line).get_reordered_string()

    def width_of(self, text: str) -> float:
        """``get_string_width`` from cached glyph widths: fpdf2 adds no kerning here, and a
        table measures every word of every cell."""
        style, size, widths = self.font_style, self.font_size_pt, self._char_widths
        total = 0.0
        for char in text:
            width = widths.get((style, size, char))
            if width is None:
                width = widths[(style, size, char)] = self.get_string_width(char)
            total += width
        return total

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(_FONT, "", 7)
        self.set_text_color(110, 110, 110)
        self.cell(self.epw * 0.7, 5, _fit(self, self._footer, self.epw * 0.7 - 2))
        self.cell(0, 5, f"{self._page_word} {self.page_no()} / {_PAGE_COUNT}", align="R")
        self.set_text_color(0, 0, 0)


def _glyphs(font: Any) -> set[int]:
    """The code points a TrueType font has glyphs for."""
    return set(getattr(font, "cmap", None) or ())


def render(report: doc.ReportDocument, *, headless: bool, info: DocumentInfo) -> bytes:
    words = labels(info.locale)
    pdf = _Pdf(info.title[:200], words["page"])
    pdf.set_title(info.title[:200])
    pdf.set_creator("Fleet Reports")
    layout = plan(report, headless=headless, info=info)
    links = [] if headless else _front_pages(pdf, layout, info)
    zone = zone_of(info.time_zone)
    for i, named in enumerate(layout.sheets):
        pdf.add_page(orientation=sheet_orientation(named.sheet))
        if links:
            pdf.set_link(links[i])
        pdf.start_section(named.header[:200] or named.name)
        _heading(pdf, named.header, 13)
        if named.sheet.get("additional_field"):
            _note(pdf, str(named.sheet["additional_field"]), 8)
        for section in sections_of(named.sheet):
            _section(pdf, section, zone, words["decimal"])
    if pdf.page == 0:  # an empty headless report is still a document
        pdf.add_page()
        _heading(pdf, info.title, 16)
    return bytes(pdf.output())


def sheet_orientation(sheet: doc.Sheet) -> str:
    """The orientation of a sheet's pages: "L" (landscape) when a table of the sheet has more
    columns than a portrait page holds, else "P" (portrait)."""
    wide = any(
        len(section.get("columns") or ()) > _PORTRAIT_MAX_COLUMNS for section in sections_of(sheet) if is_table(section)
    )
    return "L" if wide else "P"


def content_width(orientation: str) -> float:
    """The width (mm) between the margins of a page: the width a table section spans."""
    return _PAGE_MM[orientation][0] - 2 * _MARGIN


# ---------------------------------------------------------------- text fitting


def _fit(pdf: _Pdf, text: str, width: float) -> str:
    """``text`` on one line of ``width``, cut with an ellipsis when it is wider."""
    text = pdf.safe(text[:_MAX_CHARS]).replace("\n", " ")
    return pdf.visual(text if pdf.width_of(text) <= width else _ellipsize(pdf, text, width))


def _ellipsize(pdf: _Pdf, text: str, width: float) -> str:
    """As much of ``text`` as fits in ``width`` with an ellipsis after it."""
    cut = _fitting_prefix(pdf, text, width - pdf.width_of(_ELLIPSIS))
    return text[:cut].rstrip() + _ELLIPSIS


def _wrap(pdf: _Pdf, text: str, width: float, max_lines: int) -> list[str]:
    """``text`` wrapped to ``width`` on at most ``max_lines`` lines, the last one ellipsised
    when the text goes on."""
    text = pdf.safe(text[:_MAX_CHARS])
    if "\n" not in text and pdf.width_of(text) <= width:
        return [pdf.visual(text)]
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if pdf.width_of(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            rest = word
            while len(rest) > 1 and len(lines) <= max_lines and pdf.width_of(rest) > width:
                cut = _fitting_prefix(pdf, rest, width)  # a word wider than a line: break it
                lines.append(rest[:cut])
                rest = rest[cut:]
            line = rest
            if len(lines) > max_lines:
                break
        lines.append(line)
        if len(lines) > max_lines:
            break
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], _ellipsize(pdf, lines[max_lines - 1], width)]
    return [pdf.visual(line) for line in lines]


def _fitting_prefix(pdf: _Pdf, word: str, width: float) -> int:
    """How many leading characters of ``word`` fit in ``width`` (at least one)."""
    used = 0.0
    for i, char in enumerate(word):
        used += pdf.width_of(char)
        if used > width:
            return max(i, 1)
    return len(word)


def _word_pieces(word: str) -> list[str]:
    """``word`` cut after each run of hyphens or slashes: "Naro-Fominsk" -> "Naro-", "Fominsk"."""
    return [piece for piece in _WORD_PIECE.findall(word) if piece]


def _wrap_words(pdf: _Pdf, text: str, width: float, max_lines: int, *, pieces: bool = False) -> list[str] | None:
    """``text`` (printable) wrapped to ``width`` between its words only, at the current font;
    with ``pieces``, a word wider than a line breaks after its hyphens and slashes, never
    elsewhere. None when a word (or piece) is still wider than a line or the text takes more
    than ``max_lines`` lines."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            if not word:
                continue
            parts = _word_pieces(word) if pieces and pdf.width_of(word) > width else [word]
            for k, piece in enumerate(parts):
                if pdf.width_of(piece) > width:
                    return None
                candidate = (f"{line} {piece}" if k == 0 else line + piece) if line else piece
                if pdf.width_of(candidate) <= width:
                    line = candidate
                else:  # ``line`` is not empty here: ``piece`` alone fits
                    lines.append(line)
                    line = piece
        lines.append(line)
        if len(lines) > max_lines:
            return None
    return lines


def _heading(pdf: _Pdf, text: str, size: float) -> None:
    pdf.set_font(_FONT, "B", size)
    pdf.multi_cell(0, size * 0.5, pdf.visual(pdf.safe(text[:_MAX_CHARS])), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1.5)


def _note(pdf: _Pdf, text: str, size: float) -> None:
    pdf.set_font(_FONT, "", size)
    pdf.multi_cell(0, size * 0.45, pdf.visual(pdf.safe(text)), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)


# ---------------------------------------------------------------- front pages


def _front_pages(pdf: _Pdf, layout: Plan, info: DocumentInfo) -> list[int]:
    """The title page and the table of contents; returns a link per report sheet."""
    pdf.add_page()
    pdf.ln(25)
    _heading(pdf, info.title, 20)
    pdf.ln(6)
    for label, value in title_lines(info):
        pdf.set_font(_FONT, "B", 10)
        pdf.cell(45, 6, _fit(pdf, label, 43))
        pdf.set_font(_FONT, "", 10)
        pdf.multi_cell(0, 6, pdf.visual(pdf.safe(value[:_MAX_CHARS])), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.add_page()
    _heading(pdf, labels(info.locale)["contents"], 16)
    pdf.set_font(_FONT, "", 10)
    pdf.set_text_color(5, 99, 193)
    links = []
    for named in layout.sheets:
        link = pdf.add_link()
        pdf.cell(0, 6.5, _fit(pdf, named.header, pdf.epw - 2), link=link, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        links.append(link)
    pdf.set_text_color(0, 0, 0)
    return links


# ---------------------------------------------------------------- sections


def _section(pdf: _Pdf, section: doc.Section, zone: tzinfo, decimal: str = ".") -> None:
    kind = section.get("type")
    chart = chart_of(section) if is_chart(section) else None
    pdf.ln(2)
    if kind in ("table", "map_table", "chart"):
        # a heading stays with what follows it; a chart that fits on a page is not split
        needed = 30.0 if chart is None else _CHART_HEIGHT + 30
        if chart is not None and chart.kind == "bar":  # whole, unless taller than a page
            whole = _bar_chart_height(chart)
            page = pdf.page_break_trigger - pdf.t_margin - _BAR_HEADING
            needed = _BAR_HEADING + (whole if whole <= page else _bar_chart_height(chart, _BAR_MIN_SLOTS))
        if pdf.will_page_break(needed):
            pdf.add_page(same=True)
        header = section.get("header")
        if header:
            _heading(pdf, str(header), 10)
    if is_table(section):
        columns = columns_of(section)
        rows = ((row_kind, [text_of(cell) for cell in cells]) for row_kind, cells in table_rows(section, columns))
        _table(pdf, columns, rows, pdf.epw, with_header=True)
    elif is_map_table(section):
        columns = [Column("name", "", "left", 3), Column("v", "", "right", 1)]
        rows = (
            (RowKind.TOTAL if highlight else RowKind.DATA, [name, text_of(cell)])
            for highlight, name, cell in map_rows(section)
        )
        _table(pdf, columns, rows, min(pdf.epw, 130), with_header=False)
    elif is_text(section):
        _note(pdf, str(section.get("text", "")), 6.5)
    elif chart is not None and chart.kind == "bar":
        _bar_chart(pdf, chart, decimal)
    elif chart is not None:
        _chart(pdf, chart, zone)


@dataclass(frozen=True)
class HeaderCell:
    """A column title laid out: its font size (pt) and its lines, top to bottom."""

    size: float
    lines: list[str]


@dataclass(frozen=True)
class TableLayout:
    """A table's column widths (mm) and its column titles laid out in them."""

    widths: list[float]
    header: list[HeaderCell]


def table_layout(columns: Sequence[Column], width: float) -> TableLayout:
    """How the PDF lays out a table of ``columns`` spanning ``width`` mm (``content_width`` of
    its page's orientation): what the renderer draws, for tests and tools."""
    return _layout(_measuring_pdf(), columns, width, with_header=True)


@cache
def _measuring_pdf() -> _Pdf:
    return _Pdf("", "")


def _layout(pdf: _Pdf, columns: Sequence[Column], width: float, *, with_header: bool) -> TableLayout:
    weights = [max(c.width, 0.5) for c in columns]
    widths = [width * w / sum(weights) for w in weights]  # the document's proportions
    if not with_header:
        return TableLayout(widths, [])
    # Each column is made at least as wide as its title needs to wrap between words at the body
    # size; when the page is too narrow for that, at the largest header size it is wide enough
    # for (titles wider than their columns then shrink). Text widths scale with the font size;
    # a hair is added as the title is measured again in its column.
    texts = [_title_width(pdf, c.title) for c in columns]
    for size in _HEADER_SIZES:
        needs = [text * size / _BODY_PT + 2 * pdf.c_margin + 0.01 for text in texts]
        if sum(needs) <= width:
            widths = _spread(weights, needs, width)
            break
    header = [_header_cell(pdf, c.title, w - 2 * pdf.c_margin) for c, w in zip(columns, widths, strict=True)]
    return TableLayout(widths, header)


def _title_width(pdf: _Pdf, title: str) -> float:
    """The narrowest width (mm) in which ``title`` wraps between its words on at most
    ``_MAX_HEADER_LINES`` lines at the body size: at least its widest word."""
    text = pdf.safe(title[:_MAX_CHARS])
    pdf.set_font(_FONT, "B", _BODY_PT)
    words = text.split()
    if not words:
        return 0.0
    low = max(pdf.width_of(word) for word in words)
    paragraphs = text.split("\n")
    if len(paragraphs) > _MAX_HEADER_LINES or _wrap_words(pdf, text, low, _MAX_HEADER_LINES) is not None:
        return low
    high = max(pdf.width_of(" ".join(p.split())) for p in paragraphs)  # one line per paragraph fits
    while high - low > 0.25:
        middle = (low + high) / 2
        if _wrap_words(pdf, text, middle, _MAX_HEADER_LINES) is None:
            low = middle
        else:
            high = middle
    return high


def _spread(weights: Sequence[float], needs: Sequence[float], width: float) -> list[float]:
    """``width`` shared in proportion to ``weights``, except that a column gets at least its
    need: the room it takes comes from the columns with some to spare, in proportion to their
    weights. The needs must not exceed ``width`` together."""
    fixed: set[int] = set()
    while True:
        rest = [i for i in range(len(weights)) if i not in fixed]
        free = width - sum(needs[i] for i in fixed)
        share = sum(weights[i] for i in rest)
        if not rest or free <= 0:  # only when the needs exceed the width: share it by need
            total = sum(needs)
            return [width * need / total for need in needs]
        short = {i for i in rest if free * weights[i] / share < needs[i]}
        if not short:
            return [needs[i] if i in fixed else free * weights[i] / share for i in range(len(weights))]
        fixed |= short


def _header_cell(pdf: _Pdf, title: str, width: float) -> HeaderCell:
    """``title`` wrapped between its words in ``width`` (mm) on at most ``_MAX_HEADER_LINES``
    lines, at the largest of ``_HEADER_SIZES`` that allows it; failing that, with its words
    broken after their hyphens and slashes ("km/h" stays whole while it can); failing that too
    (a word wider than the column even at the smallest size), broken as a cell's text is."""
    text = pdf.safe(title[:_MAX_CHARS])
    for pieces in (False, True):
        for size in _HEADER_SIZES:
            pdf.set_font(_FONT, "B", size)
            lines = _wrap_words(pdf, text, width, _MAX_HEADER_LINES, pieces=pieces)
            if lines is not None:
                return HeaderCell(size, [pdf.visual(line) for line in lines])
    return HeaderCell(_HEADER_SIZES[-1], _wrap(pdf, text, width, _MAX_HEADER_LINES))


def _table(
    pdf: _Pdf,
    columns: Sequence[Column],
    rows: Iterable[tuple[RowKind, list[str]]],
    width: float,
    *,
    with_header: bool,
) -> None:
    if not columns:
        return
    layout = _layout(pdf, columns, width, with_header=with_header)
    widths = layout.widths
    aligns = [_ALIGN.get(c.align, "L") for c in columns]
    header = None
    if with_header:
        lines, sizes = [c.lines for c in layout.header], [c.size for c in layout.header]
        header = _Row(widths, ["C"] * len(columns), lines, True, _HEADER_FILL, sizes)
        header.draw(pdf)
    zebra = False
    for kind, texts in rows:
        if kind is RowKind.GROUP:
            row = _Row.of_texts(pdf, [width], ["L"], texts[:1], True, _GROUP_FILL)
            zebra = False
        else:
            fill = _TOTAL_FILL if kind is RowKind.TOTAL else _ZEBRA_FILL if zebra else None
            row = _Row.of_texts(pdf, widths, aligns, texts, kind is not RowKind.DATA, fill)
            zebra = not zebra if kind is RowKind.DATA else zebra
        if pdf.will_page_break(row.height):
            pdf.add_page(same=True)
            if header is not None:
                header.draw(pdf)
        row.draw(pdf)
    pdf.ln(1)


class _Row:
    """A table row laid out (wrapped to its column widths) and ready to draw; ``sizes`` are the
    cells' font sizes (pt) when they differ from the body's (column titles that had to shrink)."""

    def __init__(
        self,
        widths: Sequence[float],
        aligns: Sequence[str],
        lines: list[list[str]],
        bold: bool,
        fill: tuple[int, int, int] | None,
        sizes: Sequence[float] | None = None,
    ) -> None:
        self.widths, self.aligns, self.lines, self.bold, self.fill = widths, aligns, lines, bold, fill
        self.sizes = sizes if sizes is not None and any(s != _BODY_PT for s in sizes) else None
        if self.sizes is None:
            self.height = max(len(cell) for cell in lines) * _LINE + 2 * _PAD
        else:
            tallest = max(len(cell) * _line(size) for cell, size in zip(lines, self.sizes, strict=True))
            self.height = tallest + 2 * _PAD

    @classmethod
    def of_texts(
        cls,
        pdf: _Pdf,
        widths: Sequence[float],
        aligns: Sequence[str],
        texts: Sequence[str],
        bold: bool,
        fill: tuple[int, int, int] | None,
    ) -> _Row:
        """A row of cell texts, each wrapped to at most ``_MAX_LINES`` lines at the body size."""
        pdf.set_font(_FONT, "B" if bold else "", _BODY_PT)
        lines = [_wrap(pdf, text, w - 2 * pdf.c_margin, _MAX_LINES) for text, w in zip(texts, widths, strict=True)]
        return cls(widths, aligns, lines, bold, fill)

    def draw(self, pdf: _Pdf) -> None:
        """Draws the row at the current position (``text`` is much cheaper than ``cell``)."""
        style = "B" if self.bold else ""
        pdf.set_font(_FONT, style, _BODY_PT)
        pdf.set_draw_color(*_GRID)
        pdf.set_line_width(0.1)
        if self.fill is not None:
            pdf.set_fill_color(*self.fill)
        x, y = pdf.l_margin, pdf.y
        sizes = self.sizes if self.sizes is not None else [_BODY_PT] * len(self.widths)
        for width, align, lines, size in zip(self.widths, self.aligns, self.lines, sizes, strict=True):
            pdf.rect(x, y, width, self.height, style="DF" if self.fill is not None else "D")
            if size != pdf.font_size_pt:
                pdf.set_font(_FONT, style, size)
            step = _line(size)
            baseline = y + _PAD + 0.5 * step + 0.3 * pdf.font_size
            for i, line in enumerate(lines):
                if not line:
                    continue
                free = width - 2 * pdf.c_margin - pdf.width_of(line)
                shift = free if align == "R" else free / 2 if align == "C" else 0.0
                pdf.text(x + pdf.c_margin + shift, baseline + i * step, line)
            x += width
        pdf.set_xy(pdf.l_margin, y + self.height)


def _line(size: float) -> float:
    """mm per line of text at ``size`` pt (``_LINE`` at the body size)."""
    return _LINE * size / _BODY_PT


# ---------------------------------------------------------------- charts


def _thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """At most about ``_CHART_POINTS`` points: each bucket keeps its lowest and highest."""
    if len(points) <= _CHART_POINTS:
        return points
    size = math.ceil(len(points) / (_CHART_POINTS // 2))
    out: list[tuple[float, float]] = []
    for start in range(0, len(points), size):
        bucket = range(start, min(start + size, len(points)))
        low = min(bucket, key=lambda i: points[i][1])
        high = max(bucket, key=lambda i: points[i][1])
        out.extend(points[i] for i in sorted({low, high}))
    return out


def _span(values: Iterable[float]) -> tuple[float, float]:
    items = list(values)
    low, high = (min(items), max(items)) if items else (0.0, 1.0)
    return (low - 1, high + 1) if low == high else (low, high)


def _number_tick(value: float, span: float) -> str:
    decimals = min(4, max(0, 2 - math.floor(math.log10(span))))
    return f"{value:.{decimals}f}"


_TIME_STEPS_MS = (
    *(m * 60_000 for m in (1, 2, 5, 10, 15, 30)),
    *(h * 3_600_000 for h in (1, 2, 3, 6, 12)),
    *(d * 86_400_000 for d in (1, 2, 7, 14, 28)),
)


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round values (1, 2, 2.5 or 5 times a power of ten apart) between ``low`` and ``high``."""
    span = high - low
    if not (span > 0 and math.isfinite(span)):
        return [low]
    rough = span / (most - 1)
    power = 10.0 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= rough)
    first = math.ceil(low / step - 1e-9) * step
    count = math.floor((high - first) / step + 1e-9) + 1
    return [first + k * step for k in range(max(count, 0))]


def time_ticks(low: float, high: float, zone: tzinfo, most: int = 7) -> list[tuple[float, str]]:
    """Instants (epoch ms) on round local times between ``low`` and ``high``, with labels."""
    span = high - low
    step = next((s for s in _TIME_STEPS_MS if span / s <= most - 1), _TIME_STEPS_MS[-1])
    start = local_time(low, zone)
    if start is None or not span > 0:
        return []
    offset = (start.utcoffset() or timedelta(0)).total_seconds() * 1000.0
    first = math.ceil((low + offset) / step) * step - offset
    label = "%H:%M" if span <= 86_400_000 else "%d.%m" if step >= 86_400_000 else "%d.%m %H:%M"
    ticks: list[tuple[float, str]] = []
    value = first
    while value <= high and len(ticks) <= most * 2:
        local = local_time(value, zone)
        if local is not None:
            ticks.append((value, local.strftime(label)))
        value += step
    return ticks


def _chart(pdf: _Pdf, chart: Chart, zone: tzinfo) -> None:
    series = [(s, _thin(s.points)) for s in chart.series]
    x_low, x_high = _span(x for _, points in series for x, _ in points)
    y_low, y_high = _span(y for _, points in series for _, y in points)
    left, top = pdf.l_margin + 16, pdf.y + 5
    width, height = pdf.epw - 20, _CHART_HEIGHT

    def px(x: float) -> float:
        return left + (x - x_low) / (x_high - x_low) * width

    def py(y: float) -> float:
        return top + height - (y - y_low) / (y_high - y_low) * height

    pdf.set_font(_FONT, "", 6.5)
    if chart.y_title:
        pdf.set_xy(pdf.l_margin, top - 5)
        pdf.cell(40, 4, _fit(pdf, chart.y_title, 38))
    pdf.set_line_width(0.1)
    pdf.set_draw_color(225, 225, 225)
    y_ticks = nice_ticks(y_low, y_high)
    y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else y_high - y_low
    for y_value in y_ticks:  # grid lines and tick labels at round values
        pdf.line(left, py(y_value), left + width, py(y_value))
        pdf.set_xy(pdf.l_margin, py(y_value) - 2)
        pdf.cell(15, 4, _number_tick(y_value, y_step * 10), align="R")
    if chart.x_type == "time":
        x_ticks = [(x, label) for x, label in time_ticks(x_low, x_high, zone)]
    else:
        ticks = nice_ticks(x_low, x_high)
        x_step = ticks[1] - ticks[0] if len(ticks) > 1 else x_high - x_low
        x_ticks = [(x, _number_tick(x, x_step * 10)) for x in ticks]
    for x_value, label in x_ticks:
        pdf.line(px(x_value), top, px(x_value), top + height)
        pdf.set_xy(px(x_value) - 12, top + height + 1)
        pdf.cell(24, 4, label, align="C")
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.3)
    pdf.line(left, top, left, top + height)
    pdf.line(left, top + height, left + width, top + height)
    if chart.x_title:
        pdf.set_xy(left, top + height + 5)
        pdf.cell(width, 4, _fit(pdf, chart.x_title, width - 2), align="C")

    legend_x, legend_y = left, top + height + 10
    for i, (item, points) in enumerate(series):
        color = _SERIES_COLORS[i % len(_SERIES_COLORS)]
        pdf.set_draw_color(*color)
        pdf.set_fill_color(*color)
        pdf.set_line_width(0.35)
        scaled = [(px(x), py(y)) for x, y in points]
        if len(scaled) > 1:
            pdf.polyline(scaled)
        elif scaled:
            pdf.rect(scaled[0][0] - 0.5, scaled[0][1] - 0.5, 1, 1, style="F")
        name = _fit(pdf, item.name or f"#{i + 1}", 50)
        entry = 6 + pdf.width_of(name) + 4
        if legend_x + entry > left + width:
            legend_x, legend_y = left, legend_y + 4
        pdf.rect(legend_x, legend_y + 1.5, 4, 1, style="F")
        pdf.set_xy(legend_x + 5, legend_y)
        pdf.cell(entry - 5, 4, name)
        legend_x += entry
    pdf.set_draw_color(0, 0, 0)
    pdf.set_xy(pdf.l_margin, legend_y + 6)


# ---------------------------------------------------------------- bar charts


def _bar_slot(chart: Chart) -> float:
    """mm per category: its bars (one per series) and the gap below them."""
    count = max(len(chart.series), 1)
    return count * (_BAR if count == 1 else 2.4) + _BAR_GAP


def _bar_frame(chart: Chart) -> float:
    """mm of a bar chart beside its bars: axis titles, ticks, the legend of several series."""
    return _BAR_TOP + _BAR_BOTTOM + (5.0 if len(chart.series) > 1 else 0.0)


def _bar_chart_height(chart: Chart, most: int | None = None) -> float:
    """The height (mm) of ``chart`` drawn whole, or with at most ``most`` of its categories."""
    count = len(chart.bars())
    if most is not None:
        count = min(count, most)
    return _bar_frame(chart) + max(count, 1) * _bar_slot(chart)


def _decimals(values: Iterable[float]) -> int:
    """The fewest decimals (up to 2) that show each of ``values`` exactly."""
    items = list(values)
    return next((d for d in (0, 1) if all(abs(round(v, d) - v) < 1e-9 for v in items)), 2)


@dataclass(frozen=True)
class _BarLayout:
    """A bar chart laid out across the page: its bars and their value texts, the value axis
    (``ticks``, from ``ticks[0]`` to ``ticks[-1]``, ``width`` mm long from ``left``) and the
    category labels' column (``label_width`` mm, left of the axis)."""

    chart: Chart
    bars: list[tuple[str, list[float | None]]]
    texts: list[list[str | None]]  # each bar's value as printed at its end
    ticks: list[float]
    tick_decimals: int
    label_width: float
    left: float
    width: float
    slot: float  # mm per category
    thickness: float  # mm per bar
    decimal: str

    def px(self, value: float) -> float:
        """The x (mm) of ``value`` on the value axis."""
        low, high = self.ticks[0], self.ticks[-1]
        return self.left + (value - low) / (high - low) * self.width


def _value_ticks(numbers: Sequence[float]) -> list[float]:
    """Round values along a bar chart's value axis: from 0 (or below, for negative bars) to a
    round value past the longest bar."""
    ticks = nice_ticks(min(0.0, *numbers), max(0.0, *numbers))
    if len(ticks) < 2:  # every value 0
        ticks = [0.0, 1.0]
    step = ticks[1] - ticks[0]
    while ticks[-1] < max(numbers) - 1e-9:  # the axis ends on a round value past the longest bar
        ticks.append(ticks[-1] + step)
    while ticks[0] > min(numbers) + 1e-9:
        ticks.insert(0, ticks[0] - step)
    return ticks


def _bar_layout(pdf: _Pdf, chart: Chart, bars: list[tuple[str, list[float | None]]], decimal: str) -> _BarLayout:
    """Ticks, value texts and widths of a bar chart with at least one value (at the chart's font)."""
    numbers = [v for _, values in bars for v in values if v is not None]
    decimals = _decimals(numbers)
    ticks = _value_ticks(numbers)
    units = {s.units for s in chart.series}
    suffix = f" {next(iter(units))}" if len(units) == 1 and next(iter(units)) else ""
    pdf.set_font(_FONT, "", _CHART_PT)
    texts = [
        [None if v is None else f"{v:.{decimals}f}".replace(".", decimal) + suffix for v in values]
        for _, values in bars
    ]
    value_width = max(pdf.width_of(t) for row in texts for t in row if t is not None) + 2
    widest = max(pdf.width_of(pdf.safe(label[:_MAX_CHARS])) for label, _ in bars) + 2
    label_width = min(max(widest, 15.0), pdf.epw * _BAR_LABEL_SHARE)
    slot = _bar_slot(chart)
    return _BarLayout(
        chart=chart,
        bars=bars,
        texts=texts,
        ticks=ticks,
        tick_decimals=_decimals(ticks),
        label_width=label_width,
        left=pdf.l_margin + label_width,
        width=max(pdf.epw - label_width - value_width, 20.0),
        slot=slot,
        thickness=(slot - _BAR_GAP) / len(chart.series),
        decimal=decimal,
    )


def _bar_chart(pdf: _Pdf, chart: Chart, decimal: str = ".") -> None:
    """A horizontal bar chart: one bar per category and series, top down in the document's
    order, the category labels on the left, each bar's value at its end (with the locale's
    ``decimal`` separator), round values along the bottom from 0. A chart taller than the room
    left goes on over the next pages."""
    bars = chart.bars()
    if not bars or not any(v is not None for _, values in bars for v in values):
        return
    layout = _bar_layout(pdf, chart, bars, decimal)
    start = 0
    while start < len(bars):
        room = int((pdf.page_break_trigger - pdf.y - _bar_frame(chart)) // layout.slot)
        if room < min(len(bars) - start, _BAR_MIN_SLOTS) and pdf.y > pdf.t_margin + 1:
            pdf.add_page(same=True)
            continue
        chunk = range(start, start + max(min(room, len(bars) - start), 1))
        start = chunk.stop
        _bar_piece(pdf, layout, chunk)


def _bar_piece(pdf: _Pdf, layout: _BarLayout, chunk: range) -> None:
    """The categories ``chunk`` of a bar chart, from the current position: the grid, the bars,
    the axes and their titles (and the legend); the position ends below them."""
    top = pdf.y + _BAR_TOP
    bottom = top + len(chunk) * layout.slot
    pdf.set_font(_FONT, "", _CHART_PT)
    if layout.chart.x_title:  # the category axis' title over the labels
        pdf.text(pdf.l_margin, top - 1.5, _fit(pdf, layout.chart.x_title, layout.label_width - 1))
    _bar_grid(pdf, layout, top, bottom)
    for row, k in enumerate(chunk):
        _bar_row(pdf, layout, k, top + row * layout.slot + _BAR_GAP / 2)
    _bar_axes(pdf, layout, top, bottom)
    pdf.set_xy(pdf.l_margin, top + len(chunk) * layout.slot + _bar_frame(layout.chart) - _BAR_TOP)


def _bar_grid(pdf: _Pdf, layout: _BarLayout, top: float, bottom: float) -> None:
    """Grid lines and tick labels at the value axis' round values."""
    pdf.set_line_width(0.1)
    pdf.set_draw_color(225, 225, 225)
    for tick in layout.ticks:
        label = _fit(pdf, f"{tick:.{layout.tick_decimals}f}".replace(".", layout.decimal), 24)
        pdf.line(layout.px(tick), top, layout.px(tick), bottom)
        pdf.text(layout.px(tick) - pdf.width_of(label) / 2, bottom + 3.5, label)


def _bar_row(pdf: _Pdf, layout: _BarLayout, k: int, y: float) -> None:
    """Category ``k`` at ``y``: its label, then a bar per series with its value at the end."""
    label, values = layout.bars[k]
    thickness = layout.thickness
    name = _fit(pdf, label, layout.label_width - 2)
    pdf.text(layout.left - 1.5 - pdf.width_of(name), y + (layout.slot - _BAR_GAP) / 2 + 0.3 * pdf.font_size, name)
    for i, value in enumerate(values):
        if value is None:
            continue
        pdf.set_fill_color(*_SERIES_COLORS[i % len(_SERIES_COLORS)])
        x0, x1 = sorted((layout.px(0.0), layout.px(value)))
        pdf.rect(x0, y + i * thickness, max(x1 - x0, 0.2), thickness * 0.92, style="F")
        text = layout.texts[k][i] or ""
        at = x1 + 1 if value >= 0 else x0 - 1 - pdf.width_of(text)
        pdf.text(at, y + i * thickness + thickness / 2 + 0.3 * pdf.font_size, text)


def _bar_axes(pdf: _Pdf, layout: _BarLayout, top: float, bottom: float) -> None:
    """The axes (the value axis at the bottom, the zero line), the value axis' title and, with
    several series, a legend: which color is which series."""
    chart, left, width = layout.chart, layout.left, layout.width
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.3)
    pdf.line(layout.px(0.0), top, layout.px(0.0), bottom)
    pdf.line(left, bottom, left + width, bottom)
    below = bottom + 8.5
    if chart.value_title:
        title = _fit(pdf, chart.value_title, width - 2)
        pdf.text(left + (width - pdf.width_of(title)) / 2, below, title)
    if len(chart.series) > 1:
        legend_x, below = left, below + 5
        for i, series in enumerate(chart.series):
            name = _fit(pdf, series.name or f"#{i + 1}", 50)
            pdf.set_fill_color(*_SERIES_COLORS[i % len(_SERIES_COLORS)])
            pdf.rect(legend_x, below - 2, 4, 2, style="F")
            pdf.text(legend_x + 5, below, name)
            legend_x += 10 + pdf.width_of(name)
