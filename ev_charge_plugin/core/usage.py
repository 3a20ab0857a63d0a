"""Usage and sessions (DESIGN section 4): the canonical frames, their checks, and
sessions aggregated into months or quarters.

Periods are half-open, ``[period_start, period_end)``, and start at midnight in
London: a quarter that starts on 1 April starts at 23:00 UTC on 31 March. Hours
are real elapsed hours, so a period with a clock change has one hour more or
less, and the same :func:`period_hours` serves returns and sessions alike.
"""
import numpy as np
import pandas as pd

from .i18n import tr
from .report import REJECTED, WARNING, ValidationReport

LONDON_TZ = "Europe/London"
MONTH, QUARTER = "month", "quarter"
MONTHS_PER_PERIOD = {MONTH: 1, QUARTER: 3}

USAGE_COLUMNS = ["chargepoint_id", "period_start", "period_end", "sessions", "energy_kwh",
                 "occupied_hours", "charging_hours", "available_hours"]
USAGE_SUMS = ["sessions", "energy_kwh", "occupied_hours", "charging_hours", "available_hours"]
SESSION_COLUMNS = ["session_id", "chargepoint_id", "start", "end", "energy_kwh", "charging_hours"]
# Rounding slack when comparing hours: returns carry two decimals.
HOURS_TOLERANCE = 0.01
PANDAS_2 = int(pd.__version__.split(".")[0]) >= 2


def empty_usage() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype="float64") for column in USAGE_COLUMNS})
    return frame.astype({"chargepoint_id": "string", "period_start": "datetime64[ns]",
                         "period_end": "datetime64[ns]", "sessions": "int64"})


def london_midnight_utc(dates) -> pd.DatetimeIndex:
    """The UTC instant of midnight in London at the start of each date."""
    local = pd.DatetimeIndex(pd.to_datetime(dates)).normalize().tz_localize(LONDON_TZ, ambiguous=False, nonexistent="shift_forward")
    return local.tz_convert("UTC")


def period_hours(starts, ends) -> np.ndarray:
    """Elapsed hours from midnight in London on each start date to midnight on each end date."""
    elapsed = london_midnight_utc(ends) - london_midnight_utc(starts)
    return elapsed.total_seconds().to_numpy() / 3600.0


def period_label(start, end) -> str:
    """"Q3 2024", "Jul 2024", or "1 Jul 2024 to 30 Sep 2025" for any other range (end exclusive)."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if start.day == 1 and end.day == 1:
        months = (end.year - start.year) * 12 + end.month - start.month
        if months == 1:
            return start.strftime("%b %Y")
        if months == 3 and start.month % 3 == 1:
            return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    last = end - pd.Timedelta(days=1)
    return tr("{first} to {last}").format(first=f"{start.day} {start:%b %Y}", last=f"{last.day} {last:%b %Y}")


def _period_boundaries(first: pd.Timestamp, last: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    """Local period starts (naive dates) from the period holding ``first`` to the one after ``last``."""
    months = MONTHS_PER_PERIOD[freq]
    begin = pd.Timestamp(year=first.year, month=(first.month - 1) // months * months + 1, day=1)
    count = ((last.year - begin.year) * 12 + last.month - begin.month) // months + 2
    return pd.date_range(begin, periods=count, freq=f"{months}MS")


def aggregate_sessions(sessions: pd.DataFrame, freq: str = QUARTER) -> pd.DataFrame:
    """Sum sessions into usage per charge point per period (``freq``: month or quarter).

    A session that crosses a period boundary is split by time: each period gets
    the share of its plugged-in hours, charging hours and energy that fell in
    it. The session itself counts once, in the period it started in. The result
    has no ``available_hours`` yet: that needs the charge point's connectors
    (:func:`fill_available_hours`).
    """
    if sessions.empty:
        return empty_usage()
    start = pd.DatetimeIndex(sessions["start"]).asi8
    end = pd.DatetimeIndex(sessions["end"]).asi8

    def local_date(nanoseconds):
        return pd.Timestamp(nanoseconds, tz="UTC").tz_convert(LONDON_TZ).tz_localize(None)

    dates = _period_boundaries(local_date(start.min()), local_date(end.max()), freq)
    bounds = london_midnight_utc(dates).asi8

    first = np.searchsorted(bounds, start, side="right") - 1
    # A session ending exactly on a boundary ends in the period before it.
    last = np.maximum(np.searchsorted(bounds, end, side="left") - 1, first)
    spans = last - first + 1
    row = np.repeat(np.arange(len(start)), spans)
    period = first[row] + (np.arange(len(row)) - np.repeat(np.cumsum(spans) - spans, spans))
    overlap = np.minimum(end[row], bounds[period + 1]) - np.maximum(start[row], bounds[period])
    duration = (end - start)[row]
    share = np.where(duration > 0, overlap / np.where(duration > 0, duration, 1), 1.0)

    codes, ids = pd.factorize(sessions["chargepoint_id"])
    key = codes[row].astype(np.int64) * len(dates) + period
    # Slots are (charge point, period) pairs with sessions: bincount over all pairs, then keep those used.
    used = np.bincount(key, minlength=len(ids) * len(dates)) > 0
    keys = np.flatnonzero(used)
    slot = (np.cumsum(used) - 1)[key]

    def summed(values):
        return np.bincount(slot, weights=values, minlength=len(keys))

    charging = sessions["charging_hours"].to_numpy(dtype="float64")
    charging_known = summed(~np.isnan(charging[row]) * 1.0)
    usage = pd.DataFrame({
        "chargepoint_id": pd.array(np.asarray(ids, dtype=object)[keys // len(dates)], dtype="string"),
        "period_start": dates[keys % len(dates)],
        "period_end": dates[keys % len(dates) + 1],
        "sessions": summed((period == first[row]) * 1.0).round().astype("int64"),
        "energy_kwh": summed(sessions["energy_kwh"].to_numpy(dtype="float64")[row] * share),
        "occupied_hours": summed(overlap / 3.6e12),
        # Charging hours are known for a period only when every session in it reported them.
        "charging_hours": np.where(charging_known == np.bincount(slot, minlength=len(keys)),
                                   summed(np.nan_to_num(charging[row]) * share), np.nan),
        "available_hours": np.nan,
    })
    return usage[USAGE_COLUMNS]


def sum_usage(parts) -> pd.DataFrame:
    """Add up usage frames that may hold the same charge point and period (chunks of one file)."""
    parts = [part for part in parts if len(part)]
    if len(parts) <= 1:
        return parts[0] if parts else empty_usage()
    frame = pd.concat(parts, ignore_index=True)
    keys = ["chargepoint_id", "period_start", "period_end"]
    summed = frame.groupby(keys, sort=True, observed=True)[USAGE_SUMS].sum(min_count=1).reset_index()
    # A period where some chunk lacked charging hours lacks them in total.
    charging_missing = frame["charging_hours"].isna().groupby([frame[key] for key in keys], sort=True, observed=True).any().to_numpy()
    summed.loc[charging_missing, "charging_hours"] = np.nan
    return summed[USAGE_COLUMNS].astype({"sessions": "int64"})


def fill_available_hours(usage: pd.DataFrame, connectors: pd.Series, report: ValidationReport) -> pd.DataFrame:
    """Fill missing ``available_hours`` with the period's length times the charge point's connectors.

    ``connectors`` is indexed by charge point id. A charge point whose number of
    connectors is unknown counts as one, and the report says so once per charge point.
    """
    missing = usage["available_hours"].isna()
    if not missing.any():
        return usage
    usage = usage.copy()
    counts = usage.loc[missing, "chargepoint_id"].map(connectors).astype("Float64")
    unknown = counts.isna() | (counts <= 0)
    for chargepoint_id in usage.loc[missing[missing].index[unknown.to_numpy()], "chargepoint_id"].unique():
        report.add(None, "available_hours", tr("The number of connectors is not known, so the hours available were counted for one connector."), WARNING, chargepoint_id)
    # Periods repeat across charge points: the clock-change arithmetic is done once per distinct period.
    periods = usage.loc[missing, ["period_start", "period_end"]]
    distinct = periods.drop_duplicates()
    lengths = pd.Series(period_hours(distinct["period_start"], distinct["period_end"]), index=pd.MultiIndex.from_frame(distinct))
    hours = lengths.reindex(pd.MultiIndex.from_frame(periods)).to_numpy()
    usage.loc[missing, "available_hours"] = hours * counts.fillna(1).where(~unknown, 1).to_numpy(dtype="float64")
    return usage


def reject_unknown_chargepoints(frame: pd.DataFrame, known_ids, report: ValidationReport) -> pd.DataFrame:
    """Keep rows whose charge point is known (registered in the archive or loaded with the usage)."""
    ids = frame["chargepoint_id"]
    if isinstance(ids.dtype, pd.CategoricalDtype):
        # Each distinct id is looked up once, not once per session.
        known_categories = np.append(ids.cat.categories.isin(pd.Index(known_ids)), False)
        known = known_categories[ids.cat.codes.to_numpy()]
    else:
        known = ids.isin(pd.Index(known_ids)).to_numpy()
    if known.all():
        return frame
    for row in frame.loc[~known].itertuples():
        report.add(getattr(row, "record", None), "chargepoint_id",
                   tr("The charge point {id!r} is not registered: load its charge point data with the usage, or into the archive first.").format(id=row.chargepoint_id),
                   REJECTED, row.chargepoint_id)
    return frame.loc[known]


def check_usage(usage: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    """Reject usage rows that cannot be true, once ``available_hours`` is known.

    Rows with hours beyond what the period allows, charging longer than the
    vehicle was plugged in, or two rows for the same charge point whose periods
    overlap (the later row is rejected) are reported and left out.
    """
    records = usage["record"] if "record" in usage else pd.Series(np.nan, index=usage.index)
    checks = (
        ("occupied_hours", usage["occupied_hours"] > usage["available_hours"] + HOURS_TOLERANCE,
         tr("{occupied:g} hours occupied is more than the {available:g} hours available in the period.")),
        ("charging_hours", usage["charging_hours"] > usage["occupied_hours"] + HOURS_TOLERANCE,
         tr("{charging:g} hours charging is more than the {occupied:g} hours the charge point was occupied.")),
    )
    bad = pd.Series(False, index=usage.index)
    for field, failed, reason in checks:
        for index in usage.index[failed & ~bad]:
            row = usage.loc[index]
            report.add(records[index], field, reason.format(occupied=row["occupied_hours"], available=row["available_hours"],
                                                            charging=row["charging_hours"]), REJECTED, row["chargepoint_id"])
        bad |= failed

    ordered = usage.loc[~bad].sort_values(["chargepoint_id", "period_start"], kind="stable")
    same = ordered["chargepoint_id"].eq(ordered["chargepoint_id"].shift())
    overlaps = same & (ordered["period_start"] < ordered["period_end"].shift())
    for index in ordered.index[overlaps.to_numpy()]:
        row = usage.loc[index]
        report.add(records[index], "period_start", tr("The period {period} overlaps another row for the same charge point, so it would be counted twice.").format(
            period=period_label(row["period_start"], row["period_end"])), REJECTED, row["chargepoint_id"])
    bad[ordered.index[overlaps.to_numpy()]] = True
    return usage.loc[~bad]


def parse_utc_times(values: pd.Series) -> pd.Series:
    """ISO 8601 date-times as UTC (UTC when no offset is given); any other text is NaT.

    Only text that starts with a four-digit year and a hyphen is parsed:
    pandas would otherwise read 05/06/2024 month first, silently. pandas 2
    must be told the format is ISO 8601, or it would take the first value's
    exact layout for all of them and lose times with fractions or offsets.
    """
    iso = np.fromiter((isinstance(value, str) and value[4:5] == "-" for value in values.to_numpy(dtype=object)), dtype=bool, count=len(values))
    options = {"format": "ISO8601"} if PANDAS_2 else {}
    return pd.to_datetime(values.where(iso), utc=True, errors="coerce", **options)


def _reject(report: ValidationReport, frame: pd.DataFrame, failed, field: str, reason, id_column="chargepoint_id") -> None:
    """Report each row where ``failed`` holds; ``reason`` is text or a function of the row."""
    for index in frame.index[np.asarray(failed, dtype=bool)]:
        row = frame.loc[index]
        text = reason(row) if callable(reason) else reason
        report.add(row.get("record"), field, text, REJECTED, row.get(id_column) if pd.notna(row.get(id_column)) else "")


def _text(series: pd.Series) -> pd.Series:
    from .validation import text_values

    return text_values(series)


def _chargepoint_ids(values: pd.Series) -> pd.Categorical:
    """Charge point ids, stripped, as a categorical (missing or blank: NaN).

    Ids repeat across sessions, so the work is done once per distinct id.
    """
    ids = values.array if isinstance(values.dtype, pd.CategoricalDtype) else pd.Categorical(values)
    codes = np.asarray(ids.codes)
    stripped = np.array([str(value).strip() for value in ids.categories], dtype=object)
    uniques, inverse = np.unique(stripped, return_inverse=True) if len(stripped) else (stripped, np.empty(0, dtype=np.int64))
    blank = np.flatnonzero(uniques == "")
    inverse = np.where(np.isin(inverse, blank), -1, inverse)
    return pd.Categorical.from_codes(np.where(codes >= 0, inverse[np.maximum(codes, 0)] if len(inverse) else -1, -1), uniques)


def _used_categories(ids: pd.Categorical) -> pd.Categorical:
    """Drop categories no row uses (those of rejected rows), so that both read paths give the same frame."""
    codes = np.asarray(ids.codes)
    used = np.bincount(codes[codes >= 0], minlength=len(ids.categories)) > 0
    if used.all():
        return ids
    recode = np.append(np.cumsum(used) - 1, -1)  # code -1 (missing) stays -1
    return pd.Categorical.from_codes(recode[codes], ids.categories[used])


def _session_ids(values: pd.Series) -> np.ndarray:
    """Session ids as written (compared exactly), None where missing or empty."""
    ids = values.to_numpy(dtype=object, na_value=None)
    ids[ids == ""] = None
    return ids


def _utc_times(values: pd.Series) -> pd.DatetimeIndex:
    if not pd.api.types.is_datetime64_any_dtype(values):
        return pd.DatetimeIndex(parse_utc_times(values))
    times = pd.DatetimeIndex(values)
    return times.tz_localize("UTC") if times.tz is None else times.tz_convert("UTC")


class SeenSessions:
    """The session ids kept so far in one file, which is read chunk by chunk.

    Within a chunk ids are compared exactly. Across chunks they are compared by
    two independent 64-bit hashes, the first kept sorted for a binary search
    (a false match or a missed repeat is about as likely as 1 in 10^11 for ten
    million ids), which keeps a large file's memory to two numbers per session
    and each chunk's look-up to a search, not a scan. A chunk is hashed only
    once a later chunk needs it, so a file that fits in one chunk never is.
    """

    def __init__(self):
        self.keys = np.empty(0, dtype=np.uint64)    # first hash, sorted
        self.checks = np.empty(0, dtype=np.uint64)  # second hash, in the same order
        self.pending = None                         # the last chunk's kept ids, or their hashes

    @staticmethod
    def _hashes(ids: np.ndarray) -> tuple:
        return pd.util.hash_array(ids, categorize=False), pd.util.hash_array(ids, hash_key="evcharge-session", categorize=False)

    def _remember_pending(self) -> None:
        keys, checks = self.pending if isinstance(self.pending, tuple) else self._hashes(self.pending)
        order = np.argsort(keys)
        keys, checks = keys[order], checks[order]
        # Merged into the sorted arrays in one pass: every insertion point is found at once.
        at = np.searchsorted(self.keys, keys)
        self.keys, self.checks = np.insert(self.keys, at, keys), np.insert(self.checks, at, checks)

    def _look_up(self, keys: np.ndarray) -> np.ndarray:
        """Where each key is, or would be, in ``self.keys`` (queries sorted first: a search in
        order stays in the processor's cache, ten times faster than in random order)."""
        order = np.argsort(keys)
        at = np.empty(len(keys), dtype=np.int64)
        at[order] = np.searchsorted(self.keys, keys[order])
        return np.minimum(at, len(self.keys) - 1)

    def repeated(self, ids: np.ndarray) -> np.ndarray:
        """True for each id already kept (earlier in ``ids`` or in an earlier chunk); remembers the rest."""
        repeated = pd.Series(ids, dtype=object).duplicated().to_numpy()
        if self.pending is None:
            self.pending = ids[~repeated]
            return repeated
        self._remember_pending()
        keys, checks = self._hashes(ids)
        if len(self.keys):
            at = self._look_up(keys)
            repeated |= (self.keys[at] == keys) & (self.checks[at] == checks)
        self.pending = (keys[~repeated], checks[~repeated])
        return repeated


def finalise_sessions(raw: pd.DataFrame, report: ValidationReport, seen: SeenSessions = None) -> pd.DataFrame:
    """Type and check raw session rows (``record`` and the SESSION_COLUMNS, as text or typed).

    Times without a UTC offset are taken as UTC, as OCPI has them. Rejected,
    with a reason: no session or charge point id, a start or end that is
    missing or not a time, an end before the start, energy missing or below
    zero, charging hours below zero or longer than the session, and a session
    id seen before (in this file or, through ``seen``, an earlier chunk of it).
    Files run to millions of rows: columns are checked whole, and rows are
    looked at one by one only to report them.
    """
    from .validation import to_float

    seen = seen if seen is not None else SeenSessions()
    records = raw["record"].to_numpy()
    session_id = _session_ids(raw["session_id"])
    chargepoint = _chargepoint_ids(raw["chargepoint_id"])
    start, end = _utc_times(raw["start"]), _utc_times(raw["end"])
    energy = to_float(raw["energy_kwh"]).to_numpy()
    charging = to_float(raw["charging_hours"]).to_numpy() if "charging_hours" in raw else np.full(len(raw), np.nan)
    start_missing, end_missing = np.asarray(start.isna()), np.asarray(end.isna())
    hours = (end.asi8 - start.asi8) / 3.6e12
    with np.errstate(invalid="ignore"):
        checks = (
            ("session_id", pd.isna(session_id), tr("The session has no id.")),
            ("chargepoint_id", np.asarray(chargepoint.codes) < 0, tr("The session names no charge point.")),
            ("start", start_missing, tr("The start time is missing or not a date and time.")),
            ("end", end_missing, tr("The end time is missing or not a date and time (a session still running is imported once it ends).")),
            ("end", hours < 0, lambda row: tr("The session ends ({end}) before it starts ({start}).").format(end=row["end"], start=row["start"])),
            ("energy_kwh", np.isnan(energy), tr("The energy is missing or not a number.")),
            ("energy_kwh", energy < 0, lambda row: tr("The energy is negative ({value:g} kWh).").format(value=row["energy_kwh"])),
            ("charging_hours", charging < 0, lambda row: tr("The charging time is negative ({value:g} hours).").format(value=row["charging_hours"])),
            ("charging_hours", charging > hours + HOURS_TOLERANCE,
             lambda row: tr("{charging:g} hours charging is longer than the session itself.").format(charging=row["charging_hours"])),
        )

    def row(index):
        return {"record": records[index], "session_id": session_id[index], "chargepoint_id": chargepoint[index],
                "start": start[index], "end": end[index], "energy_kwh": energy[index], "charging_hours": charging[index]}

    def reject(failed, field, reason):
        for index in np.flatnonzero(failed):
            values = row(index)
            report.add(values["record"], field, reason(values) if callable(reason) else reason, REJECTED,
                       "" if pd.isna(values["chargepoint_id"]) else values["chargepoint_id"])

    bad = np.zeros(len(raw), dtype=bool)
    for field, failed, reason in checks:
        failed = failed & ~bad
        if failed.any():
            reject(failed, field, reason)
            bad |= failed
    kept = np.flatnonzero(~bad)
    repeated = np.zeros(len(raw), dtype=bool)
    repeated[kept] = seen.repeated(session_id[kept])
    reject(repeated, "session_id", lambda values: tr("The session id {id!r} appears earlier in the file; only the first is kept.").format(id=values["session_id"]))
    bad |= repeated
    # Whole columns are handed on untouched when every row is good, which is the usual case.
    pick = (lambda values: values) if not bad.any() else (lambda values, kept=np.flatnonzero(~bad): values[kept])
    return pd.DataFrame({
        "record": pick(records), "session_id": pick(session_id), "chargepoint_id": _used_categories(pick(chargepoint)),
        "start": pick(start), "end": pick(end), "energy_kwh": pick(energy), "charging_hours": pick(charging),
    })


def finalise_usage(raw: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
    """Check raw usage rows (``record`` plus USAGE_COLUMNS, periods as dates, ``period_end`` exclusive).

    Rejected, with a reason: no charge point id, a period that is missing, not
    a date or empty, sessions, energy or hours missing, negative or not numbers,
    and a fractional number of sessions. ``charging_hours`` and
    ``available_hours`` may be missing; the second is filled in later from the
    charge point's connectors.
    """
    from .validation import to_float

    raw = raw.copy()
    raw["chargepoint_id"] = _text(raw["chargepoint_id"])
    for column in ("period_start", "period_end"):
        if not pd.api.types.is_datetime64_any_dtype(raw[column]):
            raise TypeError(f"{column} must be dates (datetime64); the reader parses the text")
    for column in USAGE_SUMS:
        raw[column] = to_float(raw[column]) if column in raw else np.nan

    bad = pd.Series(False, index=raw.index)
    checks = [
        ("chargepoint_id", raw["chargepoint_id"].isna(), tr("The row names no charge point.")),
        ("period_start", raw["period_start"].isna(), tr("The period start is missing or not a date.")),
        ("period_end", raw["period_end"].isna(), tr("The period end is missing or not a date.")),
        ("period_end", raw["period_end"] <= raw["period_start"], tr("The period ends before it starts.")),
    ]
    for column in ("sessions", "energy_kwh", "occupied_hours"):
        checks.append((column, raw[column].isna(), tr("{column} is missing or not a number.").format(column=column)))
    for column in USAGE_SUMS:
        checks.append((column, raw[column] < 0, lambda row, column=column: tr("{column} is negative ({value:g}).").format(column=column, value=row[column])))
    checks.append(("sessions", raw["sessions"] % 1 != 0, lambda row: tr("sessions is not a whole number ({value:g}).").format(value=row["sessions"])))
    for field, failed, reason in checks:
        failed = failed.fillna(False).astype(bool) & ~bad
        _reject(report, raw, failed, field, reason)
        bad |= failed
    usage = raw.loc[~bad]
    return usage.astype({"sessions": "int64"})[["record"] + USAGE_COLUMNS]
