"""The plugin's quarterly usage return CSV (docs/data-standard.md, section 6).

One row per charge point per period. The return gives the period's last day
(inclusive), as people write it; the canonical usage frame has the day after
(exclusive), so one day is added here.
"""
from dataclasses import dataclass
from typing import Optional

import pandas as pd

from ..errors import SourceError
from ..i18n import tr
from ..report import FLAGGED, REPAIRED, WARNING, ValidationReport
from ..usage import USAGE_COLUMNS, finalise_usage, period_label
from ..validation import has_text, text_values, to_float
from ._common import HEADER_LINE, csv_rows, display_name, normalise_name, read_source, records_frame

RETURN_COLUMNS = ["chargepoint_id", "period_start", "period_end", "sessions", "energy_kwh",
                  "occupied_hours", "charging_hours", "available_hours"]
RETURN_REQUIRED = ["chargepoint_id", "period_start", "period_end", "sessions", "energy_kwh", "occupied_hours"]
_BY_NORMALISED = {normalise_name(column): column for column in RETURN_COLUMNS}
# YYYY-MM-DD, and DD/MM/YYYY as Excel in the UK writes dates.
ISO_DATE = r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})$"
UK_DATE = r"^(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})$"
# Years a usage period can fall in; others are typing mistakes (and beyond pandas' dates).
YEARS = (1900, 2200)


@dataclass
class UsageReadResult:
    """What a usage reader returns: a usage frame (returns) or a sessions frame (CDRs), and the report.

    ``usage`` has ``record`` plus USAGE_COLUMNS, ``period_end`` exclusive, or is
    None for a session source; ``sessions`` has ``record`` plus SESSION_COLUMNS,
    or is None for a return.
    """
    usage: Optional[pd.DataFrame]
    sessions: Optional[pd.DataFrame]
    report: ValidationReport

    @property
    def loaded(self) -> int:
        frame = self.usage if self.usage is not None else self.sessions
        return 0 if frame is None else len(frame)

    @property
    def rejected(self) -> int:
        return self.report.rejected


def parse_dates(values: pd.Series) -> pd.Series:
    """Dates written YYYY-MM-DD or DD/MM/YYYY; anything else (or no such day) is NaT.

    Built from the parts rather than by format strings, so pandas 1 and 2 agree.
    """
    text = text_values(values).fillna("").astype(object)
    parts = text.str.extract(ISO_DATE).astype(object)
    uk = parts["year"].isna()
    if uk.any():
        parts.loc[uk] = text[uk].str.extract(UK_DATE)[["year", "month", "day"]].to_numpy()
    numbers = parts.apply(pd.to_numeric, errors="coerce")
    usable = numbers["year"].between(*YEARS) & numbers["month"].between(1, 12) & numbers["day"].between(1, 31)
    dates = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    if usable.any():
        # 31 April and the like are not dates: NaT.
        dates[usable] = pd.to_datetime(numbers.loc[usable, ["year", "month", "day"]].astype("int64"), errors="coerce")
    return dates


def _columns(header: list, name: str, report: ValidationReport) -> list:
    """The header in the standard's names; raises SourceError if a required column is missing."""
    columns = [_BY_NORMALISED.get(normalise_name(column), column.strip()) for column in header]
    missing = [column for column in RETURN_REQUIRED if column not in columns]
    if missing:
        raise SourceError(tr("{name} does not follow the usage return standard: it has no {columns} column.").format(
            name=display_name(name), columns=", ".join(missing)))
    unknown = [column for column in dict.fromkeys(columns) if column not in RETURN_COLUMNS]
    if unknown:
        report.add(HEADER_LINE, ", ".join(unknown), tr("These columns are not part of the usage return standard and were ignored: {columns}.").format(
            columns=", ".join(repr(column) for column in unknown)), WARNING)
    # Ignored columns get names no header can clash with (not even "record").
    return [column if column in RETURN_COLUMNS else (position,) for position, column in enumerate(columns)]


def _report_unreadable_optional(raw: pd.DataFrame, usage: pd.DataFrame, report: ValidationReport) -> None:
    """Optional hours that are written but are not numbers are left empty: say so for the rows kept."""
    kept = raw.loc[raw["record"].isin(usage["record"])]
    for column in ("charging_hours", "available_hours"):
        unreadable = has_text(kept[column]) & to_float(kept[column]).isna()
        for row in kept.loc[unreadable, ["record", "chargepoint_id", column]].itertuples(index=False):
            report.add(row[0], column, tr("{column} {value!r} is not a number; it was left empty.").format(column=column, value=row[2]), REPAIRED, row[1])


def _flag_odd_periods(usage: pd.DataFrame, report: ValidationReport) -> None:
    """Flag rows whose period is not a calendar month or quarter (kept: any period is allowed)."""
    start, end = usage["period_start"], usage["period_end"]
    months = (end.dt.year - start.dt.year) * 12 + end.dt.month - start.dt.month
    calendar = (start.dt.day == 1) & (end.dt.day == 1) & ((months == 1) | ((months == 3) & (start.dt.month % 3 == 1)))
    for row in usage.loc[~calendar].itertuples():
        last = row.period_end - pd.Timedelta(days=1)
        report.add(row.record, "period_end", tr("The period {first} to {last} is not a calendar month or quarter ({label}); check the dates.").format(
            first=f"{row.period_start:%Y-%m-%d}", last=f"{last:%Y-%m-%d}", label=period_label(row.period_start, row.period_end)), FLAGGED, row.chargepoint_id)


def read_usage_return(path_or_bytes, *, source: str = None) -> UsageReadResult:
    """Read a usage return CSV in the plugin's standard, comma- or semicolon-separated.

    Column names are matched ignoring case, spaces, underscores and hyphens, in
    any order. ``period_end`` in the file is the period's last day; in the
    result it is the day after. ``record`` in the report is the CSV row (the
    header is line 1). Raises SourceError when the file is unusable as a whole.
    """
    data, name = read_source(path_or_bytes)
    source = source or name or tr("usage return")
    report = ValidationReport(source=source)
    rows = csv_rows(data, name)
    columns = _columns(rows[0], name, report)
    frame = records_frame(columns, rows[1:], report, "chargepoint_id")
    raw = frame.reindex(columns=["record"] + RETURN_COLUMNS)
    raw["period_start"] = parse_dates(raw["period_start"])
    # The last day, inclusive, becomes the canonical exclusive end.
    raw["period_end"] = parse_dates(raw["period_end"]) + pd.Timedelta(days=1)
    usage = finalise_usage(raw[["record"] + USAGE_COLUMNS], report)
    _report_unreadable_optional(raw, usage, report)
    _flag_odd_periods(usage, report)
    return UsageReadResult(usage=usage.reset_index(drop=True), sessions=None, report=report)
