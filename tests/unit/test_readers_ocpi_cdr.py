"""OCPI 2.2.1 CDRs read into sessions."""
import json

import pandas as pd
import pytest

from ev_charge_plugin.core.errors import SourceError
from ev_charge_plugin.core.readers.ocpi_cdr import parse_times, read_ocpi_cdrs
from ev_charge_plugin.core.readers.usage_return import UsageReadResult
from ev_charge_plugin.core.report import REJECTED, WARNING
from ev_charge_plugin.core.usage import SESSION_COLUMNS


def cdr(cdr_id, evse_id="GB*ABC*E1", location_id="LOC1", evse_uid="1", start="2024-07-01T10:00:00Z", end="2024-07-01T12:00:00Z",
        energy=10.5, total_time=2.0, parking=None, **extra):
    record = {"id": cdr_id, "start_date_time": start, "end_date_time": end, "total_energy": energy, "total_time": total_time,
              "cdr_location": {"id": location_id, "evse_uid": evse_uid, "evse_id": evse_id, "connector_id": "1"}}
    if parking is not None:
        record["total_parking_time"] = parking
    record.update(extra)
    return record


def page(cdrs, status=1000):
    return {"data": cdrs, "status_code": status, "status_message": "Success", "timestamp": "2024-10-02T00:00:00Z"}


def read(document, **options):
    return read_ocpi_cdrs(json.dumps(document).encode("utf-8"), **options)


def by_record(result):
    return {problem.record: problem for problem in result.report.problems}


def test_bare_list_is_typed():
    result = read([cdr("S1", parking=0.5), cdr("S2", evse_id=None, start="2024-07-02T08:00:00.250+01:00", end="2024-07-02T09:30:00")])
    assert isinstance(result, UsageReadResult) and result.usage is None
    sessions = result.sessions
    assert list(sessions.columns) == ["record"] + SESSION_COLUMNS
    assert list(sessions["record"]) == [1, 2]
    assert list(sessions["session_id"]) == ["S1", "S2"]
    assert list(sessions["chargepoint_id"]) == ["GB*ABC*E1", "LOC1:1"]
    assert sessions["start"].iloc[0] == pd.Timestamp("2024-07-01T10:00:00Z")
    assert sessions["start"].iloc[1] == pd.Timestamp("2024-07-02T07:00:00.250Z")  # +01:00 converted to UTC
    assert sessions["end"].iloc[1] == pd.Timestamp("2024-07-02T09:30:00Z")  # no offset: UTC
    assert str(sessions["start"].dt.tz) == "UTC"
    assert list(sessions["energy_kwh"]) == [10.5, 10.5]
    # Charging time is total time less parking time; unknown without parking time.
    assert sessions["charging_hours"].iloc[0] == 1.5 and pd.isna(sessions["charging_hours"].iloc[1])
    assert result.report.problems == [] and result.loaded == 2


def test_wrapped_response():
    result = read(page([cdr("S1"), cdr("S2")]))
    assert list(result.sessions["session_id"]) == ["S1", "S2"]
    assert result.report.problems == []


def test_list_of_pages_numbers_records_across_pages():
    result = read([page([cdr("S1"), cdr("S2")]), page([cdr("S3", energy=-1)]), page([])])
    assert list(result.sessions["session_id"]) == ["S1", "S2"]
    [problem] = result.report.problems
    assert (problem.record, problem.field, problem.severity) == (3, "energy_kwh", REJECTED)


def test_json_lines_pages():
    text = "\n".join(json.dumps(page([cdr(f"S{n}")])) for n in range(1, 4)) + "\n"
    result = read_ocpi_cdrs(text.encode("utf-8"))
    assert list(result.sessions["session_id"]) == ["S1", "S2", "S3"]
    assert list(result.sessions["record"]) == [1, 2, 3]


def test_pages_written_one_after_another_without_line_breaks():
    text = json.dumps(page([cdr("S1")])) + json.dumps(page([cdr("S2")]))
    assert list(read_ocpi_cdrs(text.encode()).sessions["session_id"]) == ["S1", "S2"]


def test_a_failed_page_refuses_the_file_naming_it():
    with pytest.raises(SourceError, match=r"page 2 .*2001"):
        read([page([cdr("S1")]), page([], status=2001)])
    text = json.dumps(page([cdr("S1")])) + "\n" + json.dumps(page([], status=3000))
    with pytest.raises(SourceError, match="page 2"):
        read_ocpi_cdrs(text.encode())
    with pytest.raises(SourceError, match="page 1"):
        read(page([cdr("S1")], status=2001))


def test_matching_to_registered_chargepoints():
    cdrs = [
        cdr("S1", evse_id="GB*ABC*E1"),                                # registered as evse_id
        cdr("S2", evse_id="GB*ABC*E2", location_id="LOC2", evse_uid="7"),  # only LOC2:7 registered
        cdr("S3", evse_id="", location_id="LOC3", evse_uid="9"),        # no evse_id
        cdr("S4", evse_id="GB*ABC*E4", location_id="LOC4", evse_uid="1"),  # neither registered: kept as evse_id
    ]
    result = read(cdrs, chargepoint_ids=["GB*ABC*E1", "LOC2:7", "LOC3:9"])
    assert list(result.sessions["chargepoint_id"]) == ["GB*ABC*E1", "LOC2:7", "LOC3:9", "GB*ABC*E4"]
    # Without registered ids, evse_id always wins.
    assert list(read(cdrs).sessions["chargepoint_id"]) == ["GB*ABC*E1", "GB*ABC*E2", "LOC3:9", "GB*ABC*E4"]


def test_bad_cdrs_are_rejected_with_reasons():
    result = read(page([
        cdr("S1"),
        cdr("S1"),                                            # 2: duplicate id
        cdr("S3", energy=-2.5),                               # 3: negative energy
        cdr("S4", end="2024-07-01T09:00:00Z"),                # 4: ends before it starts
        "not an object",                                      # 5
        {"id": "S6", "total_energy": 1},                      # 6: no cdr_location
        cdr("S7", evse_id=None, evse_uid=None),               # 7: no way to name the charge point
        cdr("S8", start="yesterday"),                         # 8: not a time
        cdr("S9", total_time=1.0, parking=1.5),               # 9: negative charging time
        cdr("S10", energy="NaN"),                             # 10: not a number
    ]))
    assert list(result.sessions["session_id"]) == ["S1"]
    problems = by_record(result)
    assert set(problems) == set(range(2, 11)) and len(result.report.problems) == 9
    assert all(problem.severity == REJECTED for problem in result.report.problems)
    assert problems[2].field == "session_id" and "appears earlier" in problems[2].reason
    assert problems[3].field == "energy_kwh" and "negative (-2.5 kWh)" in problems[3].reason
    assert problems[3].chargepoint_id == "GB*ABC*E1"
    assert problems[4].field == "end" and "before it starts" in problems[4].reason
    assert (problems[5].field, problems[5].reason) == ("cdr", "The CDR is not an object.")
    assert problems[6].field == "cdr_location" and "no cdr_location" in problems[6].reason
    assert problems[7].field == "cdr_location" and "evse_uid" in problems[7].reason
    assert problems[8].field == "start"
    assert problems[9].field == "charging_hours" and "negative" in problems[9].reason
    assert problems[10].field == "energy_kwh" and "not a number" in problems[10].reason


def test_page_without_a_data_list_is_a_warning():
    result = read([page([cdr("S1")]), {"data": None, "status_code": 1000}])
    assert list(result.sessions["session_id"]) == ["S1"]
    [warning] = result.report.problems
    assert warning.severity == WARNING and "Page 2" in warning.reason


@pytest.mark.parametrize("data", [b"", b"{not json", b'{"a": 1}', b"42", b'"text"', b"[1] x"])
def test_unusable_files_raise_one_source_error(data):
    with pytest.raises(SourceError):
        read_ocpi_cdrs(data)


def test_empty_list_gives_empty_sessions():
    result = read([])
    assert result.sessions.empty and list(result.sessions.columns) == ["record"] + SESSION_COLUMNS
    assert result.report.problems == []


def test_reads_a_file_and_names_the_source(tmp_path):
    path = tmp_path / "cdrs_q3.json"
    path.write_text(json.dumps(page([cdr("S1")])), encoding="utf-8")
    result = read_ocpi_cdrs(path)
    assert result.report.source == "cdrs_q3.json" and result.loaded == 1
    assert read_ocpi_cdrs(path, source="Operator X").report.source == "Operator X"


def test_parse_times():
    times = parse_times(["2024-07-01T10:00:00Z", "2024-07-01T10:00:00.5-02:30", "2024-07-01 10:00", "2024-02-30T10:00:00Z",
                         None, 5, "01/07/2024 10:00", "2024-07-01T10:00:00.123456789"])
    assert list(times[:3]) == [pd.Timestamp("2024-07-01T10:00:00Z"), pd.Timestamp("2024-07-01T12:30:00.5Z"), pd.Timestamp("2024-07-01T10:00:00Z")]
    assert times[3:7].isna().all()
    assert times[7] == pd.Timestamp("2024-07-01T10:00:00.123456789Z")
