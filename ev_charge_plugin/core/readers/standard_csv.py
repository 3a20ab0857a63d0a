"""The plugin's own charge point CSV standard (docs/data-standard.md)."""
import re

import pandas as pd

from ..errors import SourceError
from ..i18n import tr
from ..report import FLAGGED, WARNING, ValidationReport
from ..schema import LIST_SEPARATOR, STANDARD_CSV_COLUMNS, STANDARD_CSV_REQUIRED
from ..validation import finalise_chargepoints, has_text
from . import ReadResult
from ._common import HEADER_LINE, csv_rows, display_name, read_source, records_frame

COORDINATE_PAIRS = (("latitude", "longitude"), ("easting", "northing"))
LIST_SPACING = re.compile(rf"\s*{LIST_SEPARATOR}\s*")


def _check_columns(header: list, name: str, report: ValidationReport) -> None:
    missing = [column for column in STANDARD_CSV_REQUIRED if column not in header]
    if not any(set(pair) <= set(header) for pair in COORDINATE_PAIRS):
        missing.append(tr("latitude and longitude (or easting and northing)"))
    if missing:
        raise SourceError(tr("{name} does not follow the charge point data standard: it has no {columns} column.").format(name=display_name(name), columns=", ".join(missing)))
    for column in dict.fromkeys(header):
        if column not in STANDARD_CSV_COLUMNS:
            report.add(HEADER_LINE, column, tr("Column {column!r} is not part of the data standard; it was ignored.").format(column=column), WARNING)


def _connector_types(values: pd.Series) -> pd.Series:
    """Connector lists in one spelling: "Type 2 ; CCS" is "Type 2;CCS". A file spells
    few distinct lists, so each is cleaned once, with a plain loop for speed."""
    codes, distinct = pd.factorize(values)  # missing values get code -1
    cleaned = pd.array([text if LIST_SEPARATOR not in text else LIST_SPACING.sub(LIST_SEPARATOR, text).strip(LIST_SEPARATOR) for text in distinct],
                       dtype="string")
    return pd.Series(cleaned.take(codes, allow_fill=True), index=values.index)


def read_standard_csv(path_or_bytes, *, london_only: bool = False, london_boundary=None, source: str = None) -> ReadResult:
    """Read a CSV in the plugin's data standard, comma- or semicolon-separated.

    Column names are matched ignoring case and surrounding spaces, in any order.
    ``record`` in the report is the CSV row (the header is line 1).
    """
    data, name = read_source(path_or_bytes)
    source = source or name or tr("charge point CSV")
    report = ValidationReport(source=source)
    rows = csv_rows(data, name)
    header = [column.strip().lower() for column in rows[0]]
    _check_columns(header, name, report)
    frame = records_frame(header, rows[1:], report, "chargepoint_id")
    columns = ["record"] + STANDARD_CSV_COLUMNS
    # A file with the standard's columns in its order is used as read: reindexing copies every column.
    raw = frame if list(frame.columns) == columns else frame.reindex(columns=columns)
    raw["connector_types"] = _connector_types(raw["connector_types"])
    for record, cp_id in raw.loc[~has_text(raw["power_kw"]), ["record", "chargepoint_id"]].itertuples(index=False):
        report.add(record, "power_kw", tr("Power is missing, although the data standard requires it; the speed band is unknown."), FLAGGED, cp_id)
    chargepoints = finalise_chargepoints(raw, report, source=source, london_only=london_only, london_boundary=london_boundary)
    return ReadResult(chargepoints, report)
