"""Import one usage source into the history archive.

Read (a quarterly return, a session CSV or OCPI CDRs), check every row against
the charge points the archive knows (plus any loaded with the usage), sum
sessions into periods, then write everything in one archive transaction.
"""
import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from .archive import Archive, ImportSummary
from .errors import CancelledError, SourceError
from .i18n import tr
from .readers._common import read_source
from .report import REPLACED, ValidationReport
from .usage import (QUARTER, USAGE_COLUMNS, aggregate_sessions, check_usage, fill_available_hours,
                    reject_unknown_chargepoints, sum_usage)

RETURN, SESSIONS, OCPI_CDRS = "return", "sessions", "ocpi-cdrs"
KIND_LABELS = {RETURN: "usage return", SESSIONS: "session CSV", OCPI_CDRS: "OCPI CDRs"}
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv", ".txt")
# Share of the progress bar that reading takes; writing the archive takes the rest.
READ_SHARE = 0.7


@dataclass
class UsageImport:
    kind: str                  # RETURN, SESSIONS or OCPI_CDRS
    usage: pd.DataFrame        # the rows offered to the archive (USAGE_COLUMNS)
    report: ValidationReport   # every rejected or repaired row of the usage and of the charge points given
    summary: ImportSummary


def usage_kind(path) -> str:
    """What a usage file holds, from its name and, for CSV, its header line."""
    from .readers.sessions_csv import HEADER_BYTES, header_line, is_sessions_header

    suffix = PurePosixPath(str(path)).suffix.lower()
    if suffix in JSON_SUFFIXES:
        return OCPI_CDRS
    if suffix in CSV_SUFFIXES:
        try:
            with open(path, "rb") as handle:
                head = handle.read(HEADER_BYTES)
        except OSError as error:
            raise SourceError(tr("{name} could not be opened: {reason}.").format(name=Path(path).name, reason=error.strerror or error)) from error
        return SESSIONS if is_sessions_header(header_line(head, Path(path).name)[0]) else RETURN
    raise SourceError(tr("{name} is not a usage file the plugin reads: use the quarterly return CSV, a session CSV or OCPI CDRs (JSON).").format(name=Path(path).name))


def _known_chargepoints(archive_path: Path, chargepoints) -> pd.DataFrame:
    """``chargepoint_id``, ``connectors`` and ``power_kw`` of every charge point the usage may name; those given win."""
    columns = ["chargepoint_id", "connectors", "power_kw"]
    frames = []
    if archive_path.is_file():
        with Archive(archive_path) as archive:
            frames.append(archive.chargepoints()[columns])
    if chargepoints is not None:
        frames.append(pd.DataFrame(chargepoints[columns]))
    if not frames:
        return pd.DataFrame({"connectors": pd.Series(dtype="Int64"), "power_kw": pd.Series(dtype="float64")},
                            index=pd.Index([], name="chargepoint_id", dtype=object))
    known = pd.concat(frames, ignore_index=True).drop_duplicates("chargepoint_id", keep="last")
    return known.set_index("chargepoint_id")


def _read(path, kind: str, known: pd.DataFrame, report: ValidationReport, freq: str, progress, cancelled) -> pd.DataFrame:
    from .readers.ocpi_cdr import read_ocpi_cdrs
    from .readers.usage_return import read_usage_return

    if kind == SESSIONS:
        return usage_from_session_csv(path, known.index, report, freq, progress, cancelled)
    if kind == OCPI_CDRS:
        result = read_ocpi_cdrs(path, chargepoint_ids=known.index, source=report.source)
        report.problems.extend(result.report.problems)
        return aggregate_sessions(reject_unknown_chargepoints(result.sessions, known.index, report), freq)
    result = read_usage_return(path, source=report.source)
    report.problems.extend(result.report.problems)
    return reject_unknown_chargepoints(result.usage, known.index, report)


def usage_from_session_csv(path, known_ids, report: ValidationReport, freq: str = QUARTER, progress=None, cancelled=None) -> pd.DataFrame:
    """A session CSV summed into usage per charge point per period, chunk by chunk, sessions of unknown charge points rejected."""
    from .readers.sessions_csv import read_session_chunks

    def each_chunk(sessions):
        return aggregate_sessions(reject_unknown_chargepoints(sessions, known_ids, report), freq)

    return sum_usage(read_session_chunks(path, report, each_chunk, progress=progress, cancelled=cancelled))


def complete_usage(usage: pd.DataFrame, connectors: pd.Series, report: ValidationReport) -> pd.DataFrame:
    """Fill hours available from the connectors, then reject rows that cannot be true (see :func:`usage.check_usage`)."""
    return check_usage(fill_available_hours(usage, connectors, report), report)


def fingerprint(*sources, how: str = "") -> str:
    """SHA-256 over the bytes of every source given (None skipped) and ``how`` they are read:
    the same files read the same way give the same value."""
    digest = hashlib.sha256(how.encode())
    for source in sources:
        if source is not None:
            digest.update(hashlib.sha256(read_source(source)[0]).digest())
    return digest.hexdigest()


def import_usage(archive_path, usage_path, *, chargepoints=None, chargepoints_path=None, source: str = None,
                 freq: str = QUARTER, progress=None, cancelled=None) -> UsageImport:
    """Import ``usage_path`` into the archive at ``archive_path`` (created if missing).

    ``chargepoints`` is a canonical charge point frame (as the readers return
    it), read from ``chargepoints_path``, to register in the same transaction.
    Sessions are summed into ``freq`` periods (month or quarter).
    ``progress(fraction)`` and ``cancelled()`` come from the caller's task.
    """
    kind = usage_kind(usage_path)
    report = ValidationReport(source=source or Path(usage_path).name)

    def reading(fraction):
        if progress is not None:
            progress(READ_SHARE * fraction)

    def writing(fraction):
        if cancelled is not None and cancelled():
            raise CancelledError(tr("The import was cancelled."))
        if progress is not None:
            progress(READ_SHARE + (1.0 - READ_SHARE) * fraction)

    # Read and check everything before the archive is touched (or created): a bad file leaves no trace.
    known = _known_chargepoints(Path(archive_path), chargepoints)
    usage = _read(usage_path, kind, known, report, freq, reading, cancelled)
    usage = complete_usage(usage, known["connectors"], report)
    usage = usage[USAGE_COLUMNS].reset_index(drop=True)
    # Sessions summed by month are another import than the same sessions summed by quarter.
    how = "" if kind == RETURN else freq
    with Archive(archive_path) as archive:
        summary = archive.import_batch(usage=usage, chargepoints=chargepoints, source=report.source,
                                       source_sha256=fingerprint(usage_path, chargepoints_path, how=how), progress=writing)
    _report_replacements(summary.replacements, report)
    return UsageImport(kind, usage, report, summary)


def _report_replacements(replacements: pd.DataFrame, report: ValidationReport) -> None:
    """One report line per archived row the import replaced, with the old and new figures, for the audit trail."""
    from .usage import period_label

    for row in replacements.itertuples():
        report.add(None, "period_start", tr(
            "Replaces {period} as imported from {source}: sessions {old_sessions:,} -> {new_sessions:,}, "
            "energy {old_energy:,.1f} -> {new_energy:,.1f} kWh, hours occupied {old_hours:,.1f} -> {new_hours:,.1f}.").format(
            period=period_label(row.period_start, row.period_end), source=row.old_source, old_sessions=row.old_sessions,
            new_sessions=row.new_sessions, old_energy=row.old_energy_kwh, new_energy=row.new_energy_kwh,
            old_hours=row.old_occupied_hours, new_hours=row.new_occupied_hours), REPLACED, row.chargepoint_id)
