"""Session-level CSV: one row per charging session, as operators export them.

Files run to millions of rows, so they are read in chunks and each chunk is
checked and summed before the next is read: memory stays that of one chunk.
A file without quotes whose every line has the header's number of fields is
read fast: times straight from the file's bytes, the other columns through
pandas' C parser. Any other file (quoted fields, lines with the wrong number of
fields, an encoding other than UTF-8) is read through the csv module, which
reports every malformed line.
"""
import csv
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from ..encoding import decode_text
from ..errors import CancelledError, SourceError
from ..i18n import tr
from ..report import WARNING, ValidationReport
from ..usage import SESSION_COLUMNS, SeenSessions, finalise_sessions, parse_utc_times
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
ISO_WIDTH = len("2024-07-01T17:05:00Z")
ISO_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]  # YYYY MM DD hh mm ss
ISO_SEPARATORS = [4, 7, 13, 16]  # - - : :


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


class _NotWellFormed(Exception):
    """A line with another number of fields than the header: the file goes to the slow path."""


def _lines(buffer: np.ndarray) -> tuple:
    """``(starts, ends)``: byte offsets of every line after the header (ends exclude the line break)."""
    breaks = np.flatnonzero(buffer == ord("\n"))
    ends = np.append(breaks, len(buffer)) if len(buffer) and buffer[-1] != ord("\n") else breaks
    starts = np.append(0, ends[:-1] + 1)
    return starts[1:], ends[1:]


def _iso_utc(buffer: np.ndarray, begin: np.ndarray, end: np.ndarray) -> np.ndarray:
    """UTC nanoseconds of fields laid out exactly ``YYYY-MM-DDTHH:MM:SS`` (``T`` or a space), with or
    without a final ``Z``; NaT where a field is laid out otherwise (or is not a real time).

    Operators' exports write every time the same way, so almost every field is
    read here, straight from the file's bytes, without a Python string each.
    """
    result = np.full(len(begin), np.iinfo(np.int64).min, dtype=np.int64)
    length = end - begin
    # (A field starting in the file's last 19 bytes is left to the text parser.)
    rows = np.flatnonzero(((length == 19) | (length == 20)) & (begin <= len(buffer) - ISO_WIDTH))
    if not len(rows):
        return result
    # Every field's 20 bytes in one gather, from a view of the file as overlapping 20-byte windows.
    windows = np.lib.stride_tricks.as_strided(buffer, shape=(len(buffer) - ISO_WIDTH + 1, ISO_WIDTH), strides=(1, 1), writeable=False)
    block = windows[begin[rows]]
    digits = block[:, ISO_DIGITS].astype(np.int16) - ord("0")
    layout = (((digits >= 0) & (digits <= 9)).all(axis=1)
              & (block[:, ISO_SEPARATORS] == np.frombuffer(b"--::", dtype=np.uint8)).all(axis=1)
              & ((block[:, 10] == ord("T")) | (block[:, 10] == ord(" ")))
              & ((length[rows] == 19) | (block[:, 19] == ord("Z"))))
    digits = digits.astype(np.int32)

    def number(first, count):
        return sum(digits[:, first + k] * 10 ** (count - 1 - k) for k in range(count))

    year, month, day = number(0, 4), number(4, 2), number(6, 2)
    hour, minute, second = number(8, 2), number(10, 2), number(12, 2)
    layout &= (month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second < 60)
    months = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    dates = months.astype("datetime64[D]") + (np.clip(day, 1, 31) - 1)
    layout &= dates.astype("datetime64[M]") == months  # 31 April is not a day
    seconds = dates.astype(np.int64) * 86400 + (hour * 60 + minute) * 60 + second
    result[rows[layout]] = seconds[layout] * 10**9
    return result


def _times(buffer: np.ndarray, begin: np.ndarray, end: np.ndarray) -> pd.Series:
    """A time column from field offsets: the fixed layout read from bytes, anything else parsed as text."""
    nanoseconds = _iso_utc(buffer, begin, end)
    other = np.flatnonzero((nanoseconds == np.iinfo(np.int64).min) & (end > begin))
    if len(other):
        text = pd.Series([bytes(buffer[b:e]).decode("utf-8", "replace").strip() for b, e in zip(begin[other], end[other])], dtype=object)
        nanoseconds[other] = pd.DatetimeIndex(parse_utc_times(text)).asi8
    return pd.Series(pd.DatetimeIndex(nanoseconds.view("datetime64[ns]")).tz_localize("UTC"))


def _field(starts, ends, separators, column: int, width: int) -> tuple:
    """``(begin, end)`` byte offsets of field ``column`` on each line."""
    begin = starts if column == 0 else separators[:, column - 1] + 1
    return begin, (ends if column == width - 1 else separators[:, column])


def _line_times(buffer: np.ndarray, starts: np.ndarray, ends: np.ndarray, delimiter: str, width: int, columns: tuple) -> tuple:
    """``(ends, times)`` for a run of lines: line ends without a CRLF's \\r, and one time column per
    position in ``columns``. Raises _NotWellFormed if a line has another number of fields than ``width``.
    """
    ends = ends - (buffer[np.maximum(ends - 1, 0)] == ord("\r"))  # a CRLF line's \r is not data
    separators = np.flatnonzero(buffer[starts[0]:ends[-1]] == ord(delimiter)) + starts[0]
    if len(separators) != len(starts) * (width - 1):
        raise _NotWellFormed()
    separators = separators.reshape(len(starts), width - 1)
    # The right total, and each line's share starting and ending inside it, means every line has exactly
    # width - 1: a line short of one would push its row of the reshape into the next line.
    if width > 1 and not ((separators[:, 0] >= starts).all() and (separators[:, -1] < ends).all()):
        raise _NotWellFormed()
    return ends, [_times(buffer, *_field(starts, ends, separators, column, width)) for column in columns]


def _fast_chunks(data: bytes, header: list, delimiter: str, columns: dict, chunk_rows: int):
    """Raw chunks of a file without quotes: times read from the bytes, the rest through pandas' C parser.

    Every line's fields are counted from the delimiters' positions, so a line
    with too many or too few fields sends the file to the slow path
    (_NotWellFormed) rather than being read into the wrong columns. The times
    of each chunk's lines are worked out in a second thread while pandas reads
    the same lines: both mostly run without holding Python's lock.
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    line_starts, line_ends = _lines(buffer)
    width = len(header)
    time_columns = (header.index(columns["start"]), header.index(columns["end"]))
    others = [columns[name] for name in columns if name not in ("start", "end")]
    chunks = iter(pd.read_csv(io.BytesIO(data), sep=delimiter, encoding="utf-8-sig", usecols=others,
                              dtype={columns["session_id"]: object, columns["chargepoint_id"]: object}, chunksize=chunk_rows,
                              skip_blank_lines=False, keep_default_na=False, na_values=[""]))
    with ThreadPoolExecutor(max_workers=1) as pool:
        for first in range(0, len(line_starts), chunk_rows):
            starts, ends = line_starts[first:first + chunk_rows], line_ends[first:first + chunk_rows]
            times = pool.submit(_line_times, buffer, starts, ends, delimiter, width, time_columns)
            chunk = next(chunks, None)
            ends, (start, end) = times.result()
            if chunk is None or len(chunk) != len(starts):
                raise _NotWellFormed()
            raw = chunk[others].rename(columns={columns[name]: name for name in columns})
            raw.index = pd.RangeIndex(len(raw))
            raw.insert(0, "record", np.arange(first, first + len(raw)) + HEADER_LINE + 1)
            raw["start"], raw["end"] = start, end
            # A line of empty fields carries nothing (the slow path skips it too).
            yield raw.loc[ends - starts != width - 1] if ((ends - starts) == width - 1).any() else raw


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
        results, seen, done = [], SeenSessions(), 0
        for raw in chunks:
            if cancelled is not None and cancelled():
                raise CancelledError(tr("The import was cancelled."))
            sessions = finalise_sessions(raw, report, seen)
            results.append(each_chunk(sessions))
            done += len(raw)
            if progress is not None:
                progress(min(1.0, done / rows))
        return results

    results = None
    if _without_quotes(data):
        try:
            results = consume(_fast_chunks(data, header, delimiter, columns, chunk_rows))
        except (_NotWellFormed, pd.errors.ParserError, UnicodeDecodeError):
            # A line with the wrong number of fields, or text that is not UTF-8:
            # start again on the slow path, which reports the lines and reads Windows-1252.
            del report.problems[header_problems:]
    if results is None:
        results = consume(_slow_chunks(data, name, columns, report, chunk_rows))
    # In line order, whichever path and chunking found them.
    report.problems[header_problems:] = sorted(report.problems[header_problems:], key=lambda problem: problem.record or 0)
    return results


def _without_quotes(data: bytes) -> bool:
    """Whether the fast path may read the file: no quoted fields, and no carriage return but in CRLF."""
    return b'"' not in data and (b"\r" not in data or data.count(b"\r") == data.count(b"\r\n"))


def read_sessions_csv(path_or_bytes, *, source: str = None, chunk_rows: int = CHUNK_ROWS):
    """All sessions of a file in one frame, with the report (see :func:`read_session_chunks`)."""
    from .usage_return import UsageReadResult

    name = "" if isinstance(path_or_bytes, (bytes, bytearray)) else Path(path_or_bytes).name
    report = ValidationReport(source=source or name or tr("Sessions"))
    parts = [part for part in read_session_chunks(path_or_bytes, report, lambda sessions: sessions, chunk_rows=chunk_rows) if len(part)]
    sessions = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["record"] + SESSION_COLUMNS)
    return UsageReadResult(usage=None, sessions=sessions, report=report)
