"""Renderers: the report document (JSON) as XLSX, XLS or PDF.

Import-light on purpose: openpyxl, xlwt and fpdf2 load only when a format is rendered.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from fleet_reports.engine import document as doc
from fleet_reports.render.document import DocumentInfo

__all__ = ["CONTENT_TYPES", "DocumentInfo", "content_disposition", "file_name", "render_report"]

CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "pdf": "application/pdf",
}

_MAX_STEM = 100
_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґ",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "e",
            "zh",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "kh",
            "ts",
            "ch",
            "sh",
            "shch",
            "-",
            "y",
            "-",
            "e",
            "yu",
            "ya",
            "i",
            "yi",
            "ye",
            "g",
        ],
        strict=True,
    )
)
_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9-]+")
_NOT_FILE_SAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def render_report(report: doc.ReportDocument, fmt: str, *, headless: bool, info: DocumentInfo) -> bytes:
    """The report as a document in ``fmt`` (xlsx, xls or pdf); ``headless`` drops the title
    page and the table of contents."""
    if fmt == "xlsx":
        from fleet_reports.render import xlsx

        return xlsx.render(report, headless=headless, info=info)
    if fmt == "xls":
        from fleet_reports.render import xls

        return xls.render(report, headless=headless, info=info)
    if fmt == "pdf":
        from fleet_reports.render import pdf

        return pdf.render(report, headless=headless, info=info)
    raise ValueError(f"unsupported report format: {fmt!r}")


def _check_format(fmt: str) -> None:
    if fmt not in CONTENT_TYPES:
        raise ValueError(f"unsupported report format: {fmt!r}")


def _transliterate(text: str) -> str:
    out = []
    for char in text:
        latin = _CYRILLIC.get(char.lower())
        if latin is None:
            out.append(char)
        elif latin != "-":  # hard and soft signs vanish
            out.append(latin.capitalize() if char.isupper() else latin)
    return "".join(out)


def file_name(title: str, report_id: int, fmt: str) -> str:
    """A safe ASCII file name, e.g. ``Trip_report_1234567.pdf`` (Cyrillic is transliterated)."""
    _check_format(fmt)
    ascii_title = unicodedata.normalize("NFKD", _transliterate(title)).encode("ascii", "ignore").decode()
    stem = _NOT_ASCII_SAFE.sub("_", ascii_title).strip("_-")[:_MAX_STEM].strip("_-") or "report"
    return f"{stem}_{report_id}.{fmt}"


def content_disposition(title: str, report_id: int, fmt: str) -> str:
    """An RFC 6266 attachment header: an ASCII ``filename`` and the UTF-8 ``filename*``."""
    fallback = file_name(title, report_id, fmt)
    stem = _NOT_FILE_SAFE.sub("_", title).strip(" ._")[:_MAX_STEM].strip() or "report"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(f'{stem}_{report_id}.{fmt}', safe='')}"
