"""DfT's quarterly "Electric vehicle public charging infrastructure statistics" tables.

The workbook (xlsx or ods) has sheet ``1a`` (devices at all speeds) and ``1b``
(50 kW and above); older editions call them ``EVCD_01a`` / ``EVCD_01b``. Each has
notes rows, then a header row with ``Local authority / region code``,
``Local authority / region name`` and one column per quarter (``Oct-19`` text, or a
date cell), then one row per local authority, region and country, then notes.
The header row is found by its text, because each edition has a different number
of notes rows above it.

Cells DfT marks as not available (``[x]``, ``..``, ``-``, blank) stay missing,
never zero, and each is reported: a missing count read as 0 would show a borough
losing all its charge points.
"""
import io
import math
import numbers
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, Optional

import pandas as pd

from .errors import SourceError
from .i18n import tr
from .readers._common import normalise_name, read_source
from .report import FLAGGED, REJECTED, WARNING, ValidationReport

SPEED_ALL = "all"
SPEED_RAPID = "rapid"
# Sheet names (compared in lower case) per speed, newest naming first.
SHEETS = {SPEED_ALL: ("1a", "evcd_01a"), SPEED_RAPID: ("1b", "evcd_01b")}
TABLE_COLUMNS = ["gss_code", "name", "quarter", "speed", "devices"]

CODE_HEADER = "Local authority / region code"
NAME_HEADER = "Local authority / region name"
HEADER_SEARCH_ROWS = 40

LONDON_CODE = "E12000007"
LONDON_BOROUGH_CODES = tuple(f"E09{number:06d}" for number in range(1, 34))

GSS_CODE = re.compile(r"^[EKNSW]\d{8}$")
# The quarter is the leading "Mon-YY" of a header; a suffix after it, such as
# "\n(25kW and above)" or "[note 3]", is only a label.
QUARTER_TEXT = re.compile(r"^\s*([A-Za-z]{3})[A-Za-z]*[\s\-']+(\d{4}|\d{2})(?!\d)")
MONTHS = {name: number for number, name in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
# Some editions put a rate beside each count; only counts belong in this table.
RATE_SUFFIX = re.compile(r"per\s*100|population", re.IGNORECASE)
# DfT's "not available" conventions: bracketed codes ([x], [z], [c], [low]) and the older "..", "-", ":".
MISSING_MARKER = re.compile(r"^(\[\w+\]|\.\.|[-\u2013:*]|n/?a)$", re.IGNORECASE)

# The UK has under 100,000 public devices: a larger "count" is a misplaced cell, and would overflow Int64 as 1e19.
MAX_DEVICES = 10**7

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the pre-2007 .xls format
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"


@dataclass
class DftStatsResult:
    """``table``: one row per area per quarter per sheet, columns :data:`TABLE_COLUMNS`.

    ``quarter`` is the first day of the quarter's month as DfT labels it (``Oct-25``
    is 2025-10-01); ``speed`` is ``all`` (sheet 1a) or ``rapid`` (1b); ``devices`` is
    a nullable integer, missing where DfT gives no figure. ``report.problems`` has
    ``record`` = the row number in the sheet and ``field`` = ``"<sheet> <Mon-YY>"``.
    """
    table: pd.DataFrame
    report: ValidationReport


def read_dft_stats(path) -> DftStatsResult:
    """Read sheets 1a and 1b of a DfT workbook (a path, or its bytes). Raises SourceError."""
    data, name = read_source(path)
    name = name or tr("The workbook")
    book = _open_workbook(data, name)
    report = ValidationReport(source=name)
    sheets = _find_sheets(book.sheet_names)
    if SPEED_ALL not in sheets:
        raise SourceError(tr("{name} has no sheet 1a (or EVCD_01a): it is not DfT's electric vehicle public charging infrastructure statistics table.").format(name=name))
    if SPEED_RAPID not in sheets:
        report.add(None, "1b", tr("The workbook has no sheet 1b (or EVCD_01b): only the counts at all speeds were read."), WARNING)
    frames = [_read_sheet(_sheet_grid(book, sheet, name), sheet, speed, name, report) for speed, sheet in sheets.items()]
    return DftStatsResult(pd.concat(frames, ignore_index=True), report)


def _open_workbook(data: bytes, name: str) -> pd.ExcelFile:
    """The workbook, its engine chosen from its content, so a renamed file still opens."""
    if not data:
        raise SourceError(tr("{name} is empty.").format(name=name))
    if data.startswith(OLE_MAGIC):
        raise SourceError(tr("{name} is in the old Excel 97-2003 (.xls) format: open it in a spreadsheet and save it as .xlsx or .ods.").format(name=name))
    if not data.startswith(ZIP_MAGIC):
        raise SourceError(tr("{name} is not an xlsx or ods workbook.").format(name=name))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = set(archive.namelist())
            mimetype = archive.read("mimetype").strip() if "mimetype" in members else b""
    except Exception as error:  # zipfile raises BadZipFile, NotImplementedError, zlib.error, EOFError... for damaged bytes
        raise SourceError(tr("{name} could not be read: the workbook is damaged or incomplete.").format(name=name)) from error
    if "xl/workbook.xml" in members:
        engine = "openpyxl"
    elif mimetype == ODS_MIMETYPE:
        engine = "odf"
    else:
        raise SourceError(tr("{name} is a zip file but not an xlsx or ods workbook.").format(name=name))
    try:
        return pd.ExcelFile(io.BytesIO(data), engine=engine)
    except Exception as error:  # openpyxl and odfpy raise many kinds of error (XML, zip, key) for a damaged part
        raise SourceError(tr("{name} could not be read: the workbook is damaged or incomplete.").format(name=name)) from error


def _sheet_grid(book: pd.ExcelFile, sheet: str, name: str) -> pd.DataFrame:
    try:
        return book.parse(sheet, header=None, dtype=object)
    except Exception as error:  # as in _open_workbook: a damaged sheet fails in the parser's own terms
        raise SourceError(tr("Sheet {sheet} of {name} could not be read: the workbook is damaged or incomplete.").format(sheet=sheet, name=name)) from error


def _find_sheets(sheet_names: Iterable[str]) -> dict:
    """``{speed: sheet name}`` for the sheets present, case and spaces ignored."""
    by_key = {str(sheet).strip().lower(): sheet for sheet in sheet_names}
    found = {}
    for speed, candidates in SHEETS.items():
        for candidate in candidates:
            if candidate in by_key:
                found[speed] = by_key[candidate]
                break
    return found


def _header_key(value) -> str:
    """A header as compared: case, spaces and note references ("[note 2]") ignored."""
    return re.sub(r"\s+|\[[^\]]*\]", "", str(value)).lower()


def _header_row(grid: pd.DataFrame) -> Optional[int]:
    wanted = _header_key(CODE_HEADER)
    for row in range(min(HEADER_SEARCH_ROWS, len(grid))):
        if any(isinstance(value, str) and _header_key(value) == wanted for value in grid.iloc[row]):
            return row
    return None


def _quarter(header) -> Optional[pd.Timestamp]:
    """The quarter a header names (first day of its month), or None for a column that is not a count."""
    if isinstance(header, (datetime, date)):
        return pd.Timestamp(header.year, header.month, 1)
    if not isinstance(header, str):
        return None
    match = QUARTER_TEXT.match(header)
    if match is None or match.group(1).lower() not in MONTHS or RATE_SUFFIX.search(header[match.end():]):
        return None
    year = int(match.group(2))
    return pd.Timestamp(year + 2000 if year < 100 else year, MONTHS[match.group(1).lower()], 1)


def _is_blank(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value.strip())


def _text(value) -> Optional[str]:
    return None if _is_blank(value) else str(value).strip()


def _count(value):
    """``(devices, None)`` for a usable count, else ``(None, why it is missing)``."""
    if _is_blank(value):
        return None, tr("the cell is blank")
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        number = float(value)
    else:
        text = str(value).strip()
        if MISSING_MARKER.match(text):
            return None, tr("DfT marks it as not available ({marker})").format(marker=text)
        try:
            number = float(text.replace(",", ""))  # counts stored as text keep their thousands separators
        except ValueError:
            return None, tr("'{text}' is not a number").format(text=text)
    if not math.isfinite(number) or not 0 <= number <= MAX_DEVICES or not number.is_integer():
        return None, tr("{value} is not a count of devices").format(value=value)
    return int(number), None


def _read_sheet(grid: pd.DataFrame, sheet: str, speed: str, name: str, report: ValidationReport) -> pd.DataFrame:
    header_row = _header_row(grid)
    if header_row is None:
        raise SourceError(tr("Sheet {sheet} of {name} has no header row: no cell reads '{header}' in its first {rows} rows.").format(
            sheet=sheet, name=name, header=CODE_HEADER, rows=HEADER_SEARCH_ROWS))
    header = list(grid.iloc[header_row])
    keys = [_header_key(value) if isinstance(value, str) else "" for value in header]
    code_column = keys.index(_header_key(CODE_HEADER))
    name_key = _header_key(NAME_HEADER)
    name_column = keys.index(name_key) if name_key in keys else min(code_column + 1, len(header) - 1)

    quarters = {}  # column position -> quarter
    for position, value in enumerate(header):
        quarter = None if position in (code_column, name_column) else _quarter(value)
        if quarter is None:
            continue
        if quarter in quarters.values():
            report.add(header_row + 1, f"{sheet} {quarter:%b-%y}", tr("Sheet {sheet} has this quarter twice; the first column was read.").format(sheet=sheet), WARNING)
            continue
        quarters[position] = quarter
    if not quarters:
        raise SourceError(tr("Sheet {sheet} of {name} has no quarter columns (such as Oct-25) after its header.").format(sheet=sheet, name=name))

    rows, seen = [], set()
    for offset, values in enumerate(grid.iloc[header_row + 1:].itertuples(index=False), start=header_row + 2):
        # offset is the row number a spreadsheet shows: the grid starts at row 1.
        code, area = _text(values[code_column]), _text(values[name_column])
        cells = {position: values[position] for position in quarters}
        has_counts = not all(_is_blank(value) for value in cells.values())
        if not has_counts and not (code and GSS_CODE.match(code)):
            continue  # a blank row, or a notes row below the table
        if not code and not area:
            report.add(offset, f"{sheet}", tr("A row with counts has no area code or name; it was left out."), REJECTED)
            continue
        if code and not GSS_CODE.match(code):
            report.add(offset, f"{sheet}", tr("{area}: '{code}' is not a GSS code, so the row can only be matched by name.").format(area=area, code=code), FLAGGED)
            code = None
        key = code or area
        if key in seen:
            report.add(offset, f"{sheet}", tr("{area} appears twice in sheet {sheet}; only its first row was read.").format(area=area or code, sheet=sheet), REJECTED)
            continue
        seen.add(key)
        for position, quarter in quarters.items():
            devices, reason = _count(cells[position])
            if reason:
                report.add(offset, f"{sheet} {quarter:%b-%y}", tr("{area}: {reason}; the count is left missing.").format(area=area or code, reason=reason), REJECTED)
            rows.append((code, area, quarter, speed, devices))
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    table["quarter"] = pd.to_datetime(table["quarter"])
    table["devices"] = pd.array(table["devices"].tolist(), dtype="Int64")
    return table


def area_key(name) -> str:
    """A local authority's name as compared between sources.

    Case, accents, punctuation and ``&``/``and`` are ignored, as are the titles some
    sources add ("London Borough of", "Royal Borough of", "... Council",
    "... Corporation", "City of Westminster"). "City of London" keeps its
    "City of": without it, it would be "London", the region.
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"[^a-z0-9]+", " ", text.replace("&", " and ")).strip()
    text = re.sub(r"^(the )?(london borough of|royal borough of|borough of|county of|city and county of) ", "", text)
    text = re.sub(r" (corporation|borough council|city council|county council|council)$", "", text)
    if text.startswith("city of ") and text != "city of london":
        text = text[len("city of "):]
    return text


def code_field_of(field_names: Iterable[str]) -> Optional[str]:
    """The GSS code field of an area layer (``gss_code``, ``GSS_CODE``, ONS's ``LAD23CD``...), or None."""
    for field_name in field_names:
        key = normalise_name(field_name)
        if key in ("gsscode", "gss") or re.fullmatch(r"lad\d{2}cd", key):
            return field_name
    return None


def match_areas(stats: pd.DataFrame, areas: pd.DataFrame, code_field: Optional[str], name_field: str) -> pd.Series:
    """For each row of ``stats`` (a DfT table), the ``name_field`` value of its area in ``areas``, or None.

    By GSS code first (case and spaces ignored) when ``code_field`` is given, then by
    :func:`area_key` of the name for rows the code did not match (a code DfT or the
    layer has changed since a boundary review, or a layer without codes).
    """
    names = areas[name_field]
    matched = pd.Series([None] * len(stats), index=stats.index, dtype=object, name=name_field)
    if code_field:
        by_code = {}
        for code, area in zip(areas[code_field], names):
            if not _is_blank(code) and not _is_blank(area):
                by_code.setdefault(str(code).strip().upper(), area)
        codes = stats["gss_code"].map(lambda code: None if _is_blank(code) else str(code).strip().upper())
        matched = codes.map(by_code).astype(object).where(lambda found: found.notna(), None).rename(name_field)
    by_name = {}
    for area in names:
        if not _is_blank(area):
            by_name.setdefault(area_key(area), area)
    unmatched = matched.isna()
    matched[unmatched] = stats.loc[unmatched, "name"].map(lambda area: None if _is_blank(area) else by_name.get(area_key(area)))
    return matched


def london_series(table: pd.DataFrame) -> pd.DataFrame:
    """London's devices per quarter and speed: columns ``quarter``, ``speed``, ``devices``.

    DfT's London region row (E12000007) where it has a figure, else the sum of the
    33 boroughs (E09000001 to E09000033), and only when all 33 have one: the sum of
    some boroughs is not London.
    """
    series = []
    for speed, rows in table.groupby("speed", sort=False):
        region = rows[rows["gss_code"] == LONDON_CODE].groupby("quarter")["devices"].first()
        boroughs = rows[rows["gss_code"].isin(LONDON_BOROUGH_CODES)].groupby("quarter")["devices"]
        summed = boroughs.sum(min_count=len(LONDON_BOROUGH_CODES))
        quarters = sorted(set(rows["quarter"]))
        devices = region.reindex(quarters).astype("Int64").fillna(summed.reindex(quarters).astype("Int64"))
        series.append(pd.DataFrame({"quarter": quarters, "speed": speed, "devices": devices.to_numpy()}))
    if not series:
        return pd.DataFrame({"quarter": pd.Series(dtype="datetime64[ns]"), "speed": pd.Series(dtype=object), "devices": pd.Series(dtype="Int64")})
    result = pd.concat(series, ignore_index=True)
    result["quarter"] = pd.to_datetime(result["quarter"])
    result["devices"] = result["devices"].astype("Int64")
    return result
