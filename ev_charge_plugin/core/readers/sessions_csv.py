"""Session-level CSV: one row per charging session, as operators export them.

Files run to millions of rows, so they are read in chunks and each chunk is
checked and summed before the next is read: memory stays that of one chunk.
A well-formed file goes through pandas' C parser; a file it cannot parse
(rows with the wrong number of fields, an encoding other than UTF-8) is read
again through the csv module, which reports every such row by line.
"""
import csv
import io
from pathlib import Path

import pandas as pd

from ..encoding import decode_text
from ..errors import CancelledError, SourceError
from ..i18n import tr
from ..report import WARNING, ValidationReport
from ..usage import SESSION_COLUMNS, finalise_sessions
from ._common import HEADER_LINE, csv_rows, display_name, normalise_name, read_source, records_frame

CHUNK_ROWS = 1_000_000
REQUIRED = ["session_id", "chargepoint_id", "start", "end", "energy_kwh"]
# Other names operators' systems give the same columns (compared after normalise_name).
ALIASES = {
    "session_id": ("sessionid", "id", "transactionid"),
    "chargepoint_id": ("chargepointid", "chargedeviceid", "evseid", "deviceid"),
    "start": ("start", "starttime", "startdatetime", "started", "pluggedin"),
    "end": ("end", "endtime", "enddatetime", "ended", "pluggedout"),
    "energy_kwh": ("energykwh", "energy", "kwh", "totalenergy"),
    "charging_hours": ("charginghours", "chargingtime"),
}
HEADER_BYTES = 64 * 1024


def header_line(data: bytes, name: str = "") -> tuple:
    """``(column names, delimiter)`` from the first line of CSV bytes; SourceError if there is none."""
    text = decode_text(data[:HEADER_BYTES], name)[0].partition("\n")[0].rstrip("\r")
    if not text.strip():
        raise SourceError(tr("{name} is empty.").format(name=display_name(name)))
    delimiter = max((",", ";"), key=text.count)
    try:
        return next(csv.reader([text], delimiter=delimiter)), delimiter
    except csv.Error as error:
        raise SourceError(tr("{name} has no readable header line: {reason}.").format(name=display_name(name), reason=error)) from error


def is_sessions_header(header: list) -> bool:
    """A session file names a start and an end time, which a periodic return never does."""
    names = {normalise_name(column) for column in header}
    return bool(names & set(ALIASES["start"])) and bool(names & set(ALIASES["end"]))


def _columns(header: list, name: str, report: ValidationReport) -> dict:
    """Map canonical column -> header name; raise SourceError when a required one is missing."""
    found = {}
    for column in header:
        key = normalise_name(column)
        canonical = next((name for name, aliases in ALIASES.items() if key in aliases), None)
        if canonical and canonical not in found:
            found[canonical] = column
    missing = [column for column in REQUIRED if column not in found]
    if missing:
        raise SourceError(tr("{name} has no {columns} column: a session file needs {required}.").format(
            name=display_name(name), columns=", ".join(missing), required=", ".join(REQUIRED)))
    extra = [column for column in header if column not in found.values()]
    if extra:
        report.add(HEADER_LINE, "", tr("Columns not used: {columns}.").format(columns=", ".join(map(str, extra))), WARNING)
    return found


def _fast_chunks(data: bytes, header: list, delimiter: str, columns: dict, chunk_rows: int):
    """Raw chunks through pandas' C parser, which raises ParserError on a row with too many fields."""
    text_columns = {columns[name]: object for name in ("session_id", "chargepoint_id", "start", "end")}
    # No usecols: with it, pandas drops a long row's extra fields instead of raising (pandas issue 40049).
    reader = pd.read_csv(io.BytesIO(data), sep=delimiter, encoding="utf-8-sig", dtype=text_columns, chunksize=chunk_rows,
                         skip_blank_lines=False, on_bad_lines="error", keep_default_na=False, na_values=[""])
    first_record = HEADER_LINE + 1
    for chunk in reader:
        raw = chunk[list(columns.values())].rename(columns={header_name: name for name, header_name in columns.items()})
        raw.insert(0, "record", range(first_record, first_record + len(raw)))
        first_record += len(raw)
        yield raw.dropna(how="all", subset=list(columns))


def _slow_chunks(data: bytes, name: str, columns: dict, report: ValidationReport, chunk_rows: int):
    """Raw chunks through the csv module, every malformed row reported."""
    rows = csv_rows(data, name)
    frame = records_frame(rows[0], rows[1:], report, columns["chargepoint_id"])
    raw = frame.rename(columns={header_name: name for name, header_name in columns.items()})
    raw = raw[["record"] + list(columns)]
    for start in range(0, len(raw), chunk_rows):
        yield raw.iloc[start:start + chunk_rows]


def read_session_chunks(path_or_bytes, report: ValidationReport, each_chunk, *, chunk_rows: int = CHUNK_ROWS,
                        progress=None, cancelled=None) -> list:
    """Read a session file chunk by chunk; return ``[each_chunk(sessions) for each chunk]``.

    ``each_chunk`` gets checked sessions (``record`` + SESSION_COLUMNS); problems
    go into ``report``. ``progress(fraction)`` is told how far through the rows
    the reader is; ``cancelled()`` returning True stops with CancelledError.
    """
    data, name = read_source(path_or_bytes)
    header, delimiter = header_line(data, name)
    columns = _columns(header, name, report)
    rows = max(1, data.count(b"\n") + (not data.endswith(b"\n")) - 1)  # lines, less the header
    header_problems = len(report.problems)

    def consume(chunks):
        results, seen, done = [], None, 0
        for raw in chunks:
            if cancelled is not None and cancelled():
                raise CancelledError(tr("The import was cancelled."))
            if "charging_hours" not in raw:
                raw = raw.assign(charging_hours=float("nan"))
            sessions, seen = finalise_sessions(raw, report, seen)
            results.append(each_chunk(sessions))
            done += len(raw)
            if progress is not None:
                progress(min(1.0, done / rows))
        return results

    results = None
    if _well_formed(data, delimiter, len(header)):
        try:
            results = consume(_fast_chunks(data, header, delimiter, columns, chunk_rows))
        except pd.errors.ParserError:
            # A row with too many fields, balanced by one with too few: start
            # again on the slow path, which reports both.
            del report.problems[header_problems:]
    if results is None:
        results = consume(_slow_chunks(data, name, columns, report, chunk_rows))
    # In line order, whichever path and chunking found them.
    report.problems[header_problems:] = sorted(report.problems[header_problems:], key=lambda problem: problem.record or 0)
    return results


def _well_formed(data: bytes, delimiter: str, width: int) -> bool:
    """Whether pandas' C parser may read the file: UTF-8, no quotes or bare carriage
    returns, and as many delimiters as ``width - 1`` per line.

    The delimiter count is checked for the file as a whole, which is cheap. A
    line short of fields (which the C parser would silently fill with blanks)
    then implies another with too many, on which the C parser stops with an
    error rather than guess.
    """
    if b'"' in data or b"\r" in data.replace(b"\r\n", b""):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    return data.count(delimiter.encode()) == lines * (width - 1)


def read_sessions_csv(path_or_bytes, *, source: str = None, chunk_rows: int = CHUNK_ROWS):
    """All sessions of a file in one frame, with the report (see :func:`read_session_chunks`)."""
    from .usage_return import UsageReadResult

    name = "" if isinstance(path_or_bytes, (bytes, bytearray)) else Path(path_or_bytes).name
    report = ValidationReport(source=source or name or tr("Sessions"))
    parts = read_session_chunks(path_or_bytes, report, lambda sessions: sessions, chunk_rows=chunk_rows)
    sessions = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["record"] + SESSION_COLUMNS)
    return UsageReadResult(usage=None, sessions=sessions, report=report)
