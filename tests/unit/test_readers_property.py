"""Whatever the bytes, every reader returns a canonical frame plus a report, or raises one SourceError."""
import csv
import io
import json

import geopandas as gpd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_checks import FEW, check_problems, rejected_records
from shapely.geometry import Point

from ev_charge_plugin.core.errors import SourceError
from ev_charge_plugin.core.readers import ReadResult
from ev_charge_plugin.core.readers.ncr import read_ncr
from ev_charge_plugin.core.readers.ocpi import read_ocpi
from ev_charge_plugin.core.readers.standard_csv import read_standard_csv
from ev_charge_plugin.core.readers.vector import read_vector
from ev_charge_plugin.core.schema import CHARGEPOINT_COLUMNS, STANDARD_CSV_COLUMNS
from ev_charge_plugin.core.validation import UK_LAT, UK_LON

READERS = {"standard_csv": read_standard_csv, "ncr": read_ncr, "ocpi": read_ocpi, "vector": read_vector}


def read_or_refuse(reader, data):
    """The reader's result, checked against the canonical frame's promises; None if it refused the file."""
    try:
        result = reader(data)
    except SourceError as error:
        assert str(error)
        return None
    assert isinstance(result, ReadResult)
    frame = result.chargepoints
    assert list(frame.columns) == list(CHARGEPOINT_COLUMNS) + ["geometry"]
    assert frame.crs.to_epsg() == 27700
    assert frame["chargepoint_id"].notna().all() and frame["chargepoint_id"].is_unique
    assert frame["latitude"].between(*UK_LAT).all() and frame["longitude"].between(*UK_LON).all()
    check_problems(result.report)
    return result


@pytest.mark.parametrize("reader", READERS.values(), ids=READERS.keys())
@FEW
@given(data=st.binary(max_size=400))
def test_random_bytes(reader, data):
    read_or_refuse(reader, data)


CSV_CHARACTERS = st.sampled_from(list('ab1.5-,;"\r\n \t\xe9') + ["51.5", "-0.12", "530000"])


@pytest.mark.parametrize("reader, header", [
    (read_standard_csv, ",".join(STANDARD_CSV_COLUMNS)),
    (read_ncr, "chargeDeviceID,name,latitude,longitude,connector1ID,connector1Type,connector1RatedOutputKW,onStreetFlag"),
], ids=["standard_csv", "ncr"])
@FEW
@given(body=st.lists(CSV_CHARACTERS, max_size=120).map("".join))
def test_garbled_csv_after_a_good_header(reader, header, body):
    read_or_refuse(reader, (header + "\r\n" + body).encode("utf-8"))


COORDINATE = st.sampled_from(["51.5074", "-0.1278", "180380", "530029", "40.4", "-3.7", "", "abc", "1e400", "NaN", " 51,49 "])
CELL = st.sampled_from(["", "x", "7", "-1", "yes", "maybe", "22,5", "3;4"])


@FEW
@given(rows=st.lists(st.tuples(st.sampled_from(["A", "B", "C", "", " "]), COORDINATE, COORDINATE, COORDINATE, COORDINATE, CELL, CELL, CELL), max_size=25))
def test_every_standard_csv_record_is_loaded_or_rejected_once(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["chargepoint_id", "latitude", "longitude", "easting", "northing", "power_kw", "on_street", "connectors"])
    writer.writerows(rows)
    result = read_or_refuse(read_standard_csv, out.getvalue().encode("utf-8"))
    records = [line for line, row in enumerate(rows, start=2) if any(value.strip() for value in row)]
    assert result.loaded + len(rejected_records(result)) == len(records)
    assert rejected_records(result) <= set(records)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(["data", "evses", "id", "uid", "evse_id", "coordinates", "latitude", "longitude", "connectors", "status_code", "status", "standard", "power_type", "max_electric_power", "max_voltage", "operator", "name", "parking_type"]), children, max_size=5),
    max_leaves=25,
)


@FEW
@given(document=JSON)
def test_random_json(document):
    read_or_refuse(read_ocpi, json.dumps(document).encode("utf-8"))


CONNECTOR = st.fixed_dictionaries({}, optional={
    "standard": st.sampled_from(["IEC_62196_T2", "CHADEMO", 5]),
    "power_type": st.sampled_from(["AC_1_PHASE", "AC_3_PHASE", "DC", "??"]),
    "max_voltage": st.sampled_from([230, "400", None, -1]),
    "max_amperage": st.sampled_from([32, 125, "x"]),
    "max_electric_power": st.sampled_from([7400, 50000, "fast", 0, 1e308]),
})
EVSE = st.fixed_dictionaries({}, optional={
    "uid": st.sampled_from(["1", "2", 3]),
    "evse_id": st.sampled_from(["GB*A*E1", "GB*A*E2", "", None, 7]),
    "status": st.sampled_from(["AVAILABLE", "REMOVED", None]),
    "connectors": st.lists(CONNECTOR | st.just("junk"), max_size=3) | st.just("junk"),
    "coordinates": st.fixed_dictionaries({"latitude": COORDINATE, "longitude": COORDINATE}) | st.just([]),
})
LOCATION = st.fixed_dictionaries({"evses": st.lists(EVSE | st.integers(), max_size=3)}, optional={
    "id": st.sampled_from(["L1", "L2", None, {}]),
    "coordinates": st.fixed_dictionaries({"latitude": COORDINATE, "longitude": COORDINATE}),
    "parking_type": st.sampled_from(["ON_STREET", "PARKING_LOT", 1]),
    "operator": st.sampled_from([{"name": "Op"}, {}, "Op"]),
    "name": st.text(max_size=5),
})


@FEW
@given(locations=st.lists(LOCATION, max_size=4))
def test_every_ocpi_evse_is_loaded_or_rejected_once(locations):
    result = read_or_refuse(read_ocpi, json.dumps({"data": locations, "status_code": 1000}).encode("utf-8"))
    evses = sum(len(location["evses"]) for location in locations)
    assert result.loaded + len(rejected_records(result)) == evses
    assert rejected_records(result) <= set(range(1, evses + 1))


def _samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    points = gpd.GeoDataFrame({"id": ["P1", "P2"], "power_kw": [7.0, 50.0]}, geometry=[Point(530000, 180000), Point(531000, 181000)], crs=27700)
    points.to_file(folder / "points.gpkg", driver="GPKG")
    points.to_crs(4326).to_file(folder / "points.geojson", driver="GeoJSON")
    location = {"id": "L1", "coordinates": {"latitude": "51.5", "longitude": "-0.12"}, "evses": [{"uid": "1", "connectors": [{"standard": "IEC_62196_T2", "max_electric_power": 7400}]}]}
    return {
        "standard_csv": (read_standard_csv, "chargepoint_id,latitude,longitude,power_kw\nA,51.5,-0.12,7\nB,51.6,-0.1,22\n".encode()),
        "ncr": (read_ncr, "chargeDeviceID,name,latitude,longitude,connector1RatedOutputKW\nN1,Caf\u00e9,51.5,-0.12,7\nN2,Site,51.6,-0.1,22\n".encode()),
        "ocpi": (read_ocpi, json.dumps({"data": [location, location], "status_code": 1000}).encode()),
        "geojson": (read_vector, (folder / "points.geojson").read_bytes()),
        "gpkg": (read_vector, (folder / "points.gpkg").read_bytes()),
    }


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return _samples(tmp_path_factory)


@pytest.mark.parametrize("kind", ["standard_csv", "ncr", "ocpi", "geojson", "gpkg"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(cut=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_truncated_files(samples, kind, cut):
    reader, data = samples[kind]
    assert read_or_refuse(reader, data) is not None  # the whole sample is readable
    read_or_refuse(reader, data[: int(len(data) * cut)])


@FEW
@given(name=st.text(st.sampled_from("aZ \u00e9\u00a3\u20ac\u00fc"), min_size=1, max_size=10), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be"]))
def test_wrong_encodings(name, encoding):
    name = f"Caf{name}".strip()
    text = f"chargepoint_id,name,latitude,longitude,power_kw\nA,{name},51.5,-0.12,7\n"
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return  # latin-1 has no euro sign
    result = read_or_refuse(read_standard_csv, data)
    if encoding.startswith("utf-16"):
        assert result is None
    elif encoding in ("utf-8", "utf-8-sig", "cp1252"):
        assert result.chargepoints["name"].iloc[0] == name
