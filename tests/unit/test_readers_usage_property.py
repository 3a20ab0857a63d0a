"""Whatever the bytes, the usage readers return a frame plus a report, or raise one SourceError."""
import csv
import io
import json

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_checks import FEW, check_problems, rejected_records

from ev_charge_plugin.core.errors import SourceError
from ev_charge_plugin.core.readers.ocpi_cdr import read_ocpi_cdrs
from ev_charge_plugin.core.readers.usage_return import RETURN_COLUMNS, UsageReadResult, read_usage_return
from ev_charge_plugin.core.usage import SESSION_COLUMNS, USAGE_COLUMNS



def read_or_refuse(reader, data, **options):
    """The reader's result, checked against the canonical frames' promises; None if it refused the file."""
    try:
        result = reader(data, **options)
    except SourceError as error:
        assert str(error)
        return None
    assert isinstance(result, UsageReadResult)
    if reader is read_usage_return:
        assert result.sessions is None
        usage = result.usage
        assert list(usage.columns) == ["record"] + USAGE_COLUMNS
        assert usage["chargepoint_id"].notna().all()
        assert (usage["period_end"] > usage["period_start"]).all()
        assert usage["sessions"].dtype == "int64" and (usage["sessions"] >= 0).all()
        assert (usage[["energy_kwh", "occupied_hours"]] >= 0).all().all()
    else:
        assert result.usage is None
        sessions = result.sessions
        assert list(sessions.columns) == ["record"] + SESSION_COLUMNS
        assert sessions["session_id"].is_unique and sessions["chargepoint_id"].notna().all()
        assert (sessions["end"] >= sessions["start"]).all() and (sessions["energy_kwh"] >= 0).all()
    check_problems(result.report)
    return result


@FEW
@given(data=st.binary(max_size=400))
def test_random_bytes_return(data):
    read_or_refuse(read_usage_return, data)


@FEW
@given(data=st.binary(max_size=400))
def test_random_bytes_cdrs(data):
    read_or_refuse(read_ocpi_cdrs, data)


CSV_CHARACTERS = st.sampled_from(list('aA1.5-,;/"\r\n \t\xe9') + ["2024-07-01", "30/09/2024", "2024-02-30", "-1", "2.5", "1e400", "NaN"])


@FEW
@given(body=st.lists(CSV_CHARACTERS, max_size=120).map("".join), separator=st.sampled_from([",", ";"]))
def test_garbled_return_after_a_good_header(body, separator):
    read_or_refuse(read_usage_return, (separator.join(RETURN_COLUMNS) + "\r\n" + body).encode("utf-8"))


DATE = st.sampled_from(["2024-07-01", "2024-09-30", "01/07/2024", "30/09/2024", "2024-13-01", "31/04/2024", "", "x", "0001-01-01", "9999-12-31", "2262-04-11"])
NUMBER = st.sampled_from(["", "0", "1", "2.5", "-1", "abc", "1e400", "NaN", " 7,5 ", "2208"])


@FEW
@given(rows=st.lists(st.tuples(st.sampled_from(["A", "B", "", " "]), DATE, DATE, NUMBER, NUMBER, NUMBER, NUMBER, NUMBER), max_size=20))
def test_every_return_row_is_loaded_or_rejected_once(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RETURN_COLUMNS)
    writer.writerows(rows)
    result = read_or_refuse(read_usage_return, out.getvalue().encode("utf-8"))
    records = [line for line, row in enumerate(rows, start=2) if any(value.strip() for value in row)]
    assert result.loaded + len(rejected_records(result)) == len(records)
    assert rejected_records(result) <= set(records)
    assert set(result.usage["record"]).isdisjoint(rejected_records(result))


SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
JSON = st.recursive(
    SCALAR,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from([
        "data", "status_code", "status_message", "id", "start_date_time", "end_date_time", "total_energy", "total_time",
        "total_parking_time", "cdr_location", "evse_id", "evse_uid"]), children, max_size=5),
    max_leaves=25,
)


@FEW
@given(document=JSON)
def test_random_json(document):
    read_or_refuse(read_ocpi_cdrs, json.dumps(document).encode("utf-8"))


TIME = st.sampled_from(["2024-07-01T10:00:00Z", "2024-07-01T12:00:00.5+01:00", "2024-07-01 11:00", "2024-02-30T10:00:00Z", "", "x", None, 5, "0001-01-01T00:00:00Z"])
VALUE = st.sampled_from([0, 1.5, -1, "2", "x", None, True, 1e308])
CDR = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["S1", "S2", "S3", 4, None, ""]),
    "start_date_time": TIME,
    "end_date_time": TIME,
    "total_energy": VALUE,
    "total_time": VALUE,
    "total_parking_time": VALUE,
    "cdr_location": st.fixed_dictionaries({}, optional={
        "id": st.sampled_from(["L1", "", None, 3]),
        "evse_uid": st.sampled_from(["1", "2", None, {}]),
        "evse_id": st.sampled_from(["GB*A*E1", "", None, []]),
    }) | st.just("junk"),
})


@FEW
@given(pages=st.lists(st.lists(CDR | st.integers(), max_size=4), max_size=3), lines=st.booleans(),
       registered=st.none() | st.just(["GB*A*E1", "L1:2"]))
def test_every_cdr_is_loaded_or_rejected_once(pages, lines, registered):
    wrapped = [{"data": cdrs, "status_code": 1000} for cdrs in pages]
    text = "\n".join(map(json.dumps, wrapped)) if lines else json.dumps(wrapped)
    result = read_or_refuse(read_ocpi_cdrs, text.encode("utf-8"), chargepoint_ids=registered)
    if result is None:
        assert lines and not wrapped  # an empty file
        return
    count = sum(map(len, pages))
    assert result.loaded + len(rejected_records(result)) == count
    assert rejected_records(result) <= set(range(1, count + 1))
    assert pd.Index(result.sessions["record"]).is_unique


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_truncated_files(cut):
    usage = ("chargepoint_id,period_start,period_end,sessions,energy_kwh,occupied_hours\n"
             "A,2024-07-01,2024-09-30,3,10.5,7\nB,01/07/2024,30/09/2024,0,0,0\n").encode()
    cdrs = json.dumps({"data": [{"id": "S1", "start_date_time": "2024-07-01T10:00:00Z", "end_date_time": "2024-07-01T11:00:00Z",
                                 "total_energy": 5, "total_time": 1, "cdr_location": {"id": "L1", "evse_uid": "1"}}], "status_code": 1000}).encode()
    for reader, data in ((read_usage_return, usage), (read_ocpi_cdrs, cdrs)):
        assert read_or_refuse(reader, data).loaded > 0
        read_or_refuse(reader, data[: int(len(data) * cut)])
