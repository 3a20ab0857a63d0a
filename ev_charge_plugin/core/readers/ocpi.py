"""OCPI 2.2.1 Locations (the Public Charge Point Regulations 2023 data standard).

A Location holds EVSEs, an EVSE holds Connectors. One EVSE is one charge point:
it charges one vehicle at a time. EVSEs whose status is REMOVED are kept, so the
frame shows what the operator published, and flagged, so a user can filter them.
"""
import json
import math

import pandas as pd

from ..encoding import decode_text
from ..errors import SourceError
from ..i18n import tr
from ..report import FLAGGED, REJECTED, REPAIRED, WARNING, ValidationReport
from ..schema import LIST_SEPARATOR
from ..validation import RAW_COLUMNS, finalise_chargepoints
from . import ReadResult
from ._common import display_name, read_source

# OCPI gives AC voltage line to neutral, so AC power is volts x amps x phases.
PHASES = {"AC_1_PHASE": 1, "AC_2_PHASE": 2, "AC_2_PHASE_SPLIT": 2, "AC_3_PHASE": 3, "DC": 1}
REMOVED = "REMOVED"
# OCPI status codes 1000-1999 mean success.
SUCCESS_CODES = range(1000, 2000)


def _locations(document, name: str) -> list:
    if isinstance(document, dict) and "data" in document:
        status = document.get("status_code")
        if isinstance(status, int) and status not in SUCCESS_CODES:
            raise SourceError(tr("The OCPI response in {name} reports an error: status {code}, {message!r}.").format(name=display_name(name), code=status, message=document.get("status_message", "")))
        document = document["data"]
    if isinstance(document, dict) and "evses" in document:
        return [document]
    if isinstance(document, list):
        return document
    raise SourceError(tr("{name} does not hold OCPI Locations: expected a list of Locations or a response with a data list.").format(name=display_name(name)))


def _number(value) -> float:
    """A finite number from an OCPI field that should hold one, else NaN."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def connector_power_kw(connector: dict) -> float:
    """A connector's power in kW: ``max_electric_power`` (watts), else volts x amps x phases."""
    watts = _number(connector.get("max_electric_power"))
    if not watts > 0:
        power_type = connector.get("power_type")
        phases = PHASES.get(power_type, math.nan) if isinstance(power_type, str) else math.nan
        watts = _number(connector.get("max_voltage")) * _number(connector.get("max_amperage")) * phases
    return watts / 1000.0 if watts > 0 else math.nan


def _text(value):
    """A field's value if it is text or a number, else None (OCPI ids and names are strings)."""
    return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None


def _operator(location: dict):
    operator = location.get("operator")
    name = _text(operator.get("name")) if isinstance(operator, dict) else None
    if name and name.strip():
        return name
    party, country = _text(location.get("party_id")), _text(location.get("country_code"))
    if party and country:
        return f"{party} ({country})"
    return party


def _on_street(location: dict):
    parking_type = location.get("parking_type")
    return None if not isinstance(parking_type, str) else parking_type == "ON_STREET"


def _evse_id(location: dict, evse: dict):
    """The EVSE's ``evse_id``, else ``<location id>:<evse uid>``; None when neither can be formed."""
    evse_id, uid, location_id = _text(evse.get("evse_id")), _text(evse.get("uid")), _text(location.get("id"))
    if evse_id and evse_id.strip():
        return evse_id
    return f"{location_id}:{uid}" if uid and location_id else None


def _evse_row(record: int, location: dict, evse: dict, report: ValidationReport) -> dict:
    evse_id = _evse_id(location, evse)
    # An EVSE may carry its own position; otherwise it stands at its Location's.
    coordinates = next((c for c in (evse.get("coordinates"), location.get("coordinates")) if isinstance(c, dict)), {})
    connectors = evse.get("connectors") if isinstance(evse.get("connectors"), list) else []
    fitted = [connector for connector in connectors if isinstance(connector, dict)]
    if len(fitted) < len(connectors):
        report.add(record, "connectors", tr("{count} connector entries are not objects; they were left out.").format(count=len(connectors) - len(fitted)), REPAIRED, evse_id)
    powers = [power for power in map(connector_power_kw, fitted) if not math.isnan(power)]
    status = _text(evse.get("status"))
    if status == REMOVED:
        report.add(record, "status", tr("The operator marks this EVSE as REMOVED: it no longer exists at the site. It is kept with that status so it can be filtered out."), FLAGGED, evse_id)
    return {
        "record": record,
        "chargepoint_id": evse_id,
        "name": _text(location.get("name")),
        "operator": _operator(location),
        "latitude": coordinates.get("latitude"),
        "longitude": coordinates.get("longitude"),
        "power_kw": max(powers) if powers else math.nan,
        "connectors": len(fitted),
        "connector_types": LIST_SEPARATOR.join(dict.fromkeys(filter(None, (_text(connector.get("standard")) for connector in fitted)))),
        "status": status,
        "on_street": _on_street(location),
    }


def _describe(location_index: int, location: dict) -> str:
    location_id = _text(location.get("id"))
    if location_id:
        return tr("location {index} (id {id})").format(index=location_index, id=location_id)
    return tr("location {index}").format(index=location_index)


def _raw_chargepoints(locations: list, report: ValidationReport):
    """One raw row per EVSE; also, for each EVSE ordinal, the location it belongs to."""
    rows, where = [], {}
    for location_index, location in enumerate(locations, start=1):
        if not isinstance(location, dict):
            report.add(None, "data", tr("Entry {index} of the Locations list is not an object, so it adds no charge points.").format(index=location_index), WARNING)
            continue
        place = _describe(location_index, location)
        evses = location.get("evses")
        if not isinstance(evses, list) or not evses:
            report.add(None, "evses", tr("The {place} has no EVSEs, so it adds no charge points.").format(place=place), WARNING)
            continue
        for evse in evses:
            record = len(where) + 1
            where[record] = place
            if isinstance(evse, dict):
                rows.append(_evse_row(record, location, evse, report))
            else:
                report.add(record, "evses", tr("The EVSE is not an object."), REJECTED)
    return pd.DataFrame(rows, columns=RAW_COLUMNS), where


def read_ocpi(path_or_bytes, *, london_only: bool = False, london_boundary=None, source: str = None) -> ReadResult:
    """Read OCPI 2.2.1 Locations: a list, one Location, or a ``{data, status_code, ...}`` response.

    ``record`` in the report is the EVSE's ordinal in the file (from 1); each
    reason ends by naming the location the EVSE belongs to.
    """
    data, name = read_source(path_or_bytes)
    source = source or name or tr("OCPI Locations")
    report = ValidationReport(source=source)
    text, _encoding = decode_text(data, name)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise SourceError(tr("{name} is not valid JSON: {reason}.").format(name=display_name(name), reason=error)) from error
    raw, where = _raw_chargepoints(_locations(document, name), report)
    chargepoints = finalise_chargepoints(raw, report, source=source, london_only=london_only, london_boundary=london_boundary)
    # Every reason is about one EVSE: say which location it is in, whoever wrote the reason.
    for problem in report.problems:
        if problem.record in where:
            problem.reason = tr("{reason} The EVSE is in {place}.").format(reason=problem.reason, place=where[problem.record])
    return ReadResult(chargepoints, report)
