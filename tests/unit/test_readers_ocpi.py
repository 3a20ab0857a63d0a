"""OCPI 2.2.1 Locations: one charge point per EVSE."""
import json

import pandas as pd
import pytest

from ev_charge_plugin.core.errors import SourceError
from ev_charge_plugin.core.readers.ocpi import connector_power_kw, read_ocpi
from ev_charge_plugin.core.report import FLAGGED, REJECTED, WARNING


def connector(standard="IEC_62196_T2", power_type="AC_3_PHASE", volts=230, amps=32, watts=None):
    item = {"id": "1", "standard": standard, "format": "SOCKET", "power_type": power_type, "max_voltage": volts, "max_amperage": amps, "last_updated": "2024-01-01T00:00:00Z"}
    if watts is not None:
        item["max_electric_power"] = watts
    return item


def evse(uid, evse_id="", status="AVAILABLE", connectors=None, **extra):
    item = {"uid": uid, "status": status, "connectors": [connector()] if connectors is None else connectors, "last_updated": "2024-01-01T00:00:00Z", **extra}
    if evse_id is not None:
        item["evse_id"] = evse_id or f"GB*ABC*E{uid}"
    return item


def location(location_id, evses, lat="51.50740", lon="-0.12780", **extra):
    return {
        "country_code": "GB", "party_id": "ABC", "id": location_id, "publish": True,
        "name": f"Site {location_id}", "address": "1 Road", "city": "London", "country": "GBR",
        "coordinates": {"latitude": lat, "longitude": lon}, "parking_type": "ON_STREET",
        "operator": {"name": "Example Charging"}, "evses": evses, "time_zone": "Europe/London",
        "last_updated": "2024-01-01T00:00:00Z", **extra,
    }


def read(document, **options):
    return read_ocpi(json.dumps(document).encode("utf-8"), **options)


@pytest.mark.parametrize("item, kw", [
    (connector(watts=7400), 7.4),
    (connector(power_type="AC_1_PHASE", volts=230, amps=32), 7.36),
    (connector(power_type="AC_2_PHASE", volts=230, amps=16), 7.36),
    (connector(power_type="AC_2_PHASE_SPLIT", volts=120, amps=32), 7.68),
    (connector(power_type="AC_3_PHASE", volts=230, amps=32), 22.08),
    (connector(power_type="DC", volts=400, amps=125), 50.0),
    (connector(power_type="DC", volts=920, amps=500, watts=350000), 350.0),
    (connector(power_type="AC_3_PHASE", volts="n/a", amps=32), None),
    (connector(power_type="UNKNOWN_TYPE", volts=230, amps=32), None),
])
def test_connector_power(item, kw):
    power = connector_power_kw(item)
    assert (pd.isna(power) if kw is None else power == pytest.approx(kw))


def test_wrapped_response_one_row_per_evse():
    document = {"data": [location("L1", [evse("1"), evse("2", connectors=[connector(), connector("CHADEMO", "DC", 400, 125)])])], "status_code": 1000, "status_message": "Success", "timestamp": "2024-01-01T00:00:00Z"}
    result = read(document)
    points = result.chargepoints.set_index("chargepoint_id")
    assert list(points.index) == ["GB*ABC*E1", "GB*ABC*E2"]
    assert points.at["GB*ABC*E1", "power_kw"] == pytest.approx(22.08) and points.at["GB*ABC*E1", "speed_band"] == "fast"
    assert points.at["GB*ABC*E2", "power_kw"] == pytest.approx(50.0) and points.at["GB*ABC*E2", "speed_band"] == "rapid"
    assert points.at["GB*ABC*E2", "connectors"] == 2
    assert points.at["GB*ABC*E2", "connector_types"] == "IEC_62196_T2;CHADEMO"
    assert points.at["GB*ABC*E1", "name"] == "Site L1" and points.at["GB*ABC*E1", "operator"] == "Example Charging"
    assert points.at["GB*ABC*E1", "status"] == "AVAILABLE"
    assert bool(points.at["GB*ABC*E1", "on_street"]) is True
    assert pd.isna(points.at["GB*ABC*E1", "scheme"])
    assert points.at["GB*ABC*E1", "latitude"] == 51.5074
    assert result.report.problems == []


def test_bare_list_and_single_location():
    assert read([location("L1", [evse("1")]), location("L2", [evse("2")])]).loaded == 2
    assert list(read(location("L1", [evse("1")])).chargepoints["chargepoint_id"]) == ["GB*ABC*E1"]


def test_id_fallback_operator_fallback_and_parking_type():
    document = [
        location("L1", [evse("7", evse_id=None)], operator=None, parking_type="PARKING_LOT"),
        location("L2", [evse("8", evse_id=" ")], operator={"website": "x"}, country_code=None, parking_type=None),
    ]
    points = read(document).chargepoints.set_index("chargepoint_id")
    assert list(points.index) == ["L1:7", "L2:8"]
    assert points.at["L1:7", "operator"] == "ABC (GB)" and points.at["L2:8", "operator"] == "ABC"
    assert bool(points.at["L1:7", "on_street"]) is False and pd.isna(points.at["L2:8", "on_street"])


def test_evse_coordinates_override_the_location():
    document = [location("L1", [evse("1"), evse("2", coordinates={"latitude": "51.6000", "longitude": "-0.2000"})])]
    points = read(document).chargepoints.set_index("chargepoint_id")
    assert points.at["GB*ABC*E1", "latitude"] == 51.5074
    assert (points.at["GB*ABC*E2", "latitude"], points.at["GB*ABC*E2", "longitude"]) == (51.6, -0.2)


def test_removed_evse_is_kept_and_flagged():
    result = read([location("L1", [evse("1"), evse("2", status="REMOVED")])])
    assert list(result.chargepoints["status"]) == ["AVAILABLE", "REMOVED"]
    [problem] = result.report.problems
    assert (problem.record, problem.field, problem.severity, problem.chargepoint_id) == (2, "status", FLAGGED, "GB*ABC*E2")
    assert problem.reason.endswith("The EVSE is in location 1 (id L1).")


def test_records_are_evse_ordinals_and_reasons_name_the_location():
    document = [
        location("L1", [evse("1"), evse("2")]),
        location("L2", []),
        "not a location",
        location("L4", [evse("1"), "not an evse", evse("5", coordinates={"latitude": "40.416288", "longitude": "-3.703373"})]),
        location("L5", [evse("6")], lat="north", lon="-0.1"),
    ]
    result = read(document)
    assert list(result.chargepoints["chargepoint_id"]) == ["GB*ABC*E1", "GB*ABC*E2"]
    duplicate = result.report.of_record(3)
    assert [(p.severity, p.reason) for p in duplicate] == [(REJECTED, "Duplicate id GB*ABC*E1: already used by record 1. The EVSE is in location 4 (id L4).")]
    assert [p.reason for p in result.report.of_record(4)] == ["The EVSE is not an object. The EVSE is in location 4 (id L4)."]
    assert [p.reason for p in result.report.of_record(5)] == ["Coordinates (40.416288, -3.703373) lie outside the United Kingdom. The EVSE is in location 4 (id L4)."]
    assert [p.reason for p in result.report.of_record(6)] == ["Coordinates cannot be read: latitude 'north' is not a number. The EVSE is in location 5 (id L5)."]
    warnings = [p.reason for p in result.report.problems if p.severity == WARNING]
    assert warnings == [
        "The location 2 (id L2) has no EVSEs, so it adds no charge points.",
        "Entry 3 of the Locations list is not an object, so it adds no charge points.",
    ]
    assert result.rejected == 4


def test_london_only():
    document = [location("L1", [evse("1")]), location("M1", [evse("2")], lat="53.4808", lon="-2.2426")]
    result = read(document, london_only=True)
    assert list(result.chargepoints["chargepoint_id"]) == ["GB*ABC*E1"]
    assert result.report.of_record(2)[0].severity == REJECTED


def test_whole_file_failures():
    with pytest.raises(SourceError, match="not valid JSON"):
        read_ocpi(b'{"data": [')
    with pytest.raises(SourceError, match="status 2001"):
        read({"data": None, "status_code": 2001, "status_message": "Invalid or missing parameters", "timestamp": "2024-01-01T00:00:00Z"})
    with pytest.raises(SourceError, match="does not hold OCPI Locations"):
        read({"type": "something else"})
    with pytest.raises(SourceError, match="does not hold OCPI Locations"):
        read({"data": "text", "status_code": 1000})


def test_windows_1252_names():
    data = json.dumps([location("L1", [evse("1")], name="Caf\u00e9 \u00a3 bay")], ensure_ascii=False).encode("cp1252")
    assert read_ocpi(data).chargepoints["name"].iloc[0] == "Caf\u00e9 \u00a3 bay"
