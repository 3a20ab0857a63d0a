"""National Chargepoint Registry CSV export: one row per charge device, 158 columns.

Connectors 1 to 8 sit side by side as ``connector{N}Type``,
``connector{N}RatedOutputKW`` and so on. Real exports carry a duplicated column
name and records broken across lines; both are reported, never fatal.
"""
import re

import pandas as pd

from ..errors import SourceError
from ..i18n import tr
from ..report import REPAIRED, WARNING, ValidationReport
from ..schema import LIST_SEPARATOR
from ..validation import finalise_chargepoints, to_float
from . import ReadResult
from ._common import HEADER_LINE, csv_rows, display_name, read_source, records_frame

ID_COLUMN = "chargeDeviceID"
REQUIRED_COLUMNS = [ID_COLUMN, "latitude", "longitude"]
CONNECTOR_SLOTS = range(1, 9)
CONNECTOR_FIELD = re.compile(r"^connector(\d+)(\w+)$")
# The registry writes these placeholders where a device has no controller or network.
PLACEHOLDER = re.compile(r"^\*No ", re.IGNORECASE)


def is_ncr_header(names) -> bool:
    return ID_COLUMN in (str(name).strip() for name in names)


def _repair_header(header: list, report: ValidationReport) -> list:
    """Rename a duplicated connector column after the connector block it sits in.

    The 2017 export names column 92 ``connector3Validated`` although it closes
    connector 2's block (it follows ``connector2Description``): the column before
    a duplicated connector field tells which connector it belongs to.
    """
    header = [name.strip() for name in header]
    for position, name in enumerate(header):
        match = CONNECTOR_FIELD.match(name)
        previous = CONNECTOR_FIELD.match(header[position - 1]) if position else None
        if match and previous and header.count(name) > 1 and match.group(1) != previous.group(1):
            repaired = f"connector{previous.group(1)}{match.group(2)}"
            if repaired not in header:
                report.add(HEADER_LINE, name, tr("Column {n} is named {name!r}, a name used twice; it was read as {repaired!r} because it follows {previous!r}.").format(n=position + 1, name=name, repaired=repaired, previous=header[position - 1]), WARNING)
                header[position] = repaired
    return header


def _present(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column's text without placeholders; all missing when the export lacks the column."""
    if column not in frame:
        return pd.Series(pd.NA, index=frame.index, dtype="object")
    values = frame[column].str.strip()
    return values.where((values != "") & ~values.str.match(PLACEHOLDER, na=False))


def _power_kw(frame: pd.DataFrame, report: ValidationReport) -> pd.Series:
    """The highest rated output over the device's connectors; unreadable values are reported."""
    powers = []
    for slot in CONNECTOR_SLOTS:
        column = f"connector{slot}RatedOutputKW"
        given = _present(frame, column)
        power = to_float(given)
        unreadable = given.notna() & power.isna()
        for record, cp_id, value in zip(frame.loc[unreadable, "record"], frame.loc[unreadable, ID_COLUMN], given[unreadable]):
            report.add(record, column, tr("Rated output {value!r} is not a number; the connector was left out of the power.").format(value=value), REPAIRED, cp_id)
        powers.append(power)
    return pd.concat(powers, axis=1).max(axis=1)


def _raw_chargepoints(frame: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    types = [_present(frame, f"connector{slot}Type") for slot in CONNECTOR_SLOTS]
    fitted = [_present(frame, f"connector{slot}ID").notna() | slot_types.notna() for slot, slot_types in zip(CONNECTOR_SLOTS, types)]
    return pd.DataFrame({
        "record": frame["record"],
        "chargepoint_id": frame[ID_COLUMN],
        "name": _present(frame, "name"),
        "operator": _present(frame, "deviceControllerName").fillna(_present(frame, "deviceOwnerName")),
        "latitude": frame["latitude"],
        "longitude": frame["longitude"],
        "power_kw": _power_kw(frame, report),
        "connectors": sum(fitted),
        # Distinct types in connector order: the count of connectors is in its own column.
        "connector_types": [LIST_SEPARATOR.join(dict.fromkeys(t for t in row if not pd.isna(t))) for row in zip(*types)],
        "status": _present(frame, "chargeDeviceStatus"),
        "on_street": _present(frame, "onStreetFlag"),
        "scheme": _present(frame, "deviceNetworks"),
    }, index=frame.index)


def read_ncr(path_or_bytes, *, london_only: bool = False, london_boundary=None, source: str = None) -> ReadResult:
    """Read a National Chargepoint Registry CSV export.

    ``record`` in the report is the CSV row (the header is line 1). Records
    broken across lines are rejected with one entry naming their lines.
    """
    data, name = read_source(path_or_bytes)
    source = source or name or tr("National Chargepoint Registry CSV")
    report = ValidationReport(source=source)
    rows = csv_rows(data, name)
    header = _repair_header(rows[0], report)
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise SourceError(tr("{name} is not a National Chargepoint Registry export: it has no {columns} column.").format(name=display_name(name), columns=", ".join(missing)))
    frame = records_frame(header, rows[1:], report, ID_COLUMN)
    chargepoints = finalise_chargepoints(_raw_chargepoints(frame, report), report, source=source, london_only=london_only, london_boundary=london_boundary)
    return ReadResult(chargepoints, report)
