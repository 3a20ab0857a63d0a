"""OCPI 2.2.1 Charge Detail Records (CDRs): one charging session each.

A file may hold a bare list of CDRs, one ``{data, status_code, ...}`` response,
a list of such responses, or responses written one after another (JSON Lines,
as a paged download saves them). A page whose status code is not a success
makes the whole file unusable: its CDRs are missing, so totals would be short.
"""
import datetime
import json
import math
import re

import numpy as np
import pandas as pd

from ..encoding import decode_text
from ..errors import SourceError
from ..i18n import tr
from ..report import REJECTED, WARNING, ValidationReport
from ..usage import SESSION_COLUMNS, finalise_sessions
from .ocpi import SUCCESS_CODES
from ._common import display_name, read_source
from .usage_return import UsageReadResult

# RFC 3339 as OCPI writes it; "T" may be a space, seconds and fractions may be left
# out, and a time without an offset is UTC.
DATE_TIME = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(?:([Zz])|([+-])(\d{2}):?(\d{2})?)?\s*$")
EPOCH = datetime.datetime(1970, 1, 1)
# Years a charging session can fall in; others are typing mistakes (and beyond pandas' dates).
YEARS = (1900, 2200)


def _text(value):
    """A field's value if it is text or a number, else None (OCPI ids are strings)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value).strip()
    return text or None


def _number(value) -> float:
    """A finite number from a field that should hold one, else NaN."""
    if isinstance(value, bool):
        return math.nan
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def parse_times(values) -> pd.Series:
    """UTC times from RFC 3339 text; anything else is NaT.

    Parsed field by field rather than by ``pd.to_datetime`` on the text: pandas 2
    infers one format from the first value and would lose times written with
    fractions of seconds or another offset.
    """
    values = list(values)
    nanoseconds = np.full(len(values), np.iinfo(np.int64).min, dtype=np.int64)  # NaT
    for index, value in enumerate(values):
        match = DATE_TIME.match(value) if isinstance(value, str) else None
        if not match:
            continue
        year, month, day, hour, minute, second, fraction, _zulu, sign, offset_hours, offset_minutes = match.groups()
        if not YEARS[0] <= int(year) <= YEARS[1]:
            continue
        try:
            moment = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
        except ValueError:  # no such day or time
            continue
        offset = 0 if not sign else (int(offset_hours) * 60 + int(offset_minutes or 0)) * (1 if sign == "+" else -1)
        micros = (moment - EPOCH - datetime.timedelta(minutes=offset)) // datetime.timedelta(microseconds=1)
        nanoseconds[index] = micros * 1000 + int((fraction or "0")[:9].ljust(9, "0"))
    return pd.Series(pd.DatetimeIndex(nanoseconds.view("datetime64[ns]")).tz_localize("UTC"))


def _documents(text: str, name: str) -> list:
    """The JSON documents in ``text``: one, or several one after another (JSON Lines)."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    try:
        while True:
            while position < len(text) and text[position].isspace():
                position += 1
            if position == len(text):
                break
            document, position = decoder.raw_decode(text, position)
            documents.append(document)
    except (ValueError, RecursionError) as error:
        raise SourceError(tr("{name} is not valid JSON: {reason}.").format(name=display_name(name), reason=error)) from error
    if not documents:
        raise SourceError(tr("{name} is empty.").format(name=display_name(name)))
    return documents


def _is_page(value) -> bool:
    return isinstance(value, dict) and "data" in value and "cdr_location" not in value


def _status(page: dict):
    status = page.get("status_code")
    if isinstance(status, str) and status.strip().isdigit():
        return int(status)
    return status if isinstance(status, int) and not isinstance(status, bool) else None


def _cdrs(documents: list, name: str, report: ValidationReport) -> list:
    """All CDR entries, in file order, from every page; raises SourceError for a failed page."""
    cdrs, pages = [], 0
    for document in documents:
        if _is_page(document):
            entries = [document]
        elif isinstance(document, list) and any(map(_is_page, document)):
            entries = document
        elif isinstance(document, list):
            cdrs.extend(document)
            continue
        elif isinstance(document, dict) and "cdr_location" in document:
            cdrs.append(document)
            continue
        else:
            raise SourceError(tr("{name} does not hold OCPI CDRs: expected a list of CDRs or a response with a data list.").format(name=display_name(name)))
        for entry in entries:
            pages += 1
            if not _is_page(entry):
                report.add(None, "data", tr("Page {page} is not an OCPI response, so it adds no CDRs.").format(page=pages), WARNING)
                continue
            status = _status(entry)
            if status is not None and status not in SUCCESS_CODES:
                raise SourceError(tr("{name}: page {page} reports an OCPI error, status {code}, {message!r}. Its CDRs are missing, so the file was not loaded; download it again.").format(
                    name=display_name(name), page=pages, code=status, message=entry.get("status_message", "")))
            data = entry["data"]
            if isinstance(data, list):
                cdrs.extend(data)
            elif isinstance(data, dict):
                cdrs.append(data)
            else:
                report.add(None, "data", tr("Page {page} has no list of CDRs, so it adds none.").format(page=pages), WARNING)
    return cdrs


def _chargepoint_id(location: dict, known) -> str:
    """``evse_id``, else ``<location id>:<evse uid>``; the second when only it is a known charge point."""
    evse_id, location_id, uid = _text(location.get("evse_id")), _text(location.get("id")), _text(location.get("evse_uid"))
    pair = f"{location_id}:{uid}" if location_id and uid else None
    if evse_id and known is not None and evse_id not in known and pair in known:
        return pair
    return evse_id or pair


def _raw_sessions(cdrs: list, known, report: ValidationReport) -> pd.DataFrame:
    rows = []
    for record, cdr in enumerate(cdrs, start=1):
        if not isinstance(cdr, dict):
            report.add(record, "cdr", tr("The CDR is not an object."), REJECTED)
            continue
        location = cdr.get("cdr_location")
        if not isinstance(location, dict):
            report.add(record, "cdr_location", tr("The CDR has no cdr_location, so its charge point is not known."), REJECTED)
            continue
        chargepoint_id = _chargepoint_id(location, known)
        if chargepoint_id is None:
            report.add(record, "cdr_location", tr("The cdr_location has neither an evse_id nor both an id and an evse_uid, so its charge point is not known."), REJECTED)
            continue
        parking = _number(cdr.get("total_parking_time"))
        rows.append({
            "record": record,
            "session_id": _text(cdr.get("id")),
            "chargepoint_id": chargepoint_id,
            "start": cdr.get("start_date_time"),
            "end": cdr.get("end_date_time"),
            "energy_kwh": _number(cdr.get("total_energy")),
            # total_time is the whole session: without the parking time, charging time is unknown.
            "charging_hours": _number(cdr.get("total_time")) - parking if not math.isnan(parking) else math.nan,
        })
    raw = pd.DataFrame(rows, columns=["record"] + SESSION_COLUMNS)
    for column in ("start", "end"):
        raw[column] = parse_times(raw[column]).set_axis(raw.index)
    return raw.astype({"record": "int64", "energy_kwh": "float64", "charging_hours": "float64"})


def read_ocpi_cdrs(path_or_bytes, *, chargepoint_ids=None, source: str = None) -> UsageReadResult:
    """Read OCPI 2.2.1 CDRs into sessions (``usage`` is None).

    A session's charge point is ``cdr_location.evse_id``, else
    ``<cdr_location.id>:<cdr_location.evse_uid>``, as :mod:`.ocpi` names EVSEs.
    With ``chargepoint_ids`` (the registered ids), a CDR whose ``evse_id`` is not
    registered but whose ``<id>:<evse_uid>`` is takes the latter: an operator may
    publish ``evse_id`` in its CDRs but not in its Locations. ``record`` in the
    report is the CDR's ordinal in the file, from 1, across all pages. Raises
    SourceError when the file is not JSON, holds no CDRs, or a page failed.
    """
    data, name = read_source(path_or_bytes)
    source = source or name or tr("OCPI CDRs")
    report = ValidationReport(source=source)
    text, _encoding = decode_text(data, name)
    cdrs = _cdrs(_documents(text, name), name, report)
    known = None if chargepoint_ids is None else set(map(str, chargepoint_ids))
    raw = _raw_sessions(cdrs, known, report)
    sessions = finalise_sessions(raw, report)
    return UsageReadResult(usage=None, sessions=sessions.reset_index(drop=True), report=report)
