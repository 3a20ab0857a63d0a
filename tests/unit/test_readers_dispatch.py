"""read_chargepoints picks the reader from the extension and, for CSV and JSON, the content."""
import json

import geopandas as gpd
import pytest
from shapely.geometry import Point

from ev_charge_plugin.core.errors import SourceError
from ev_charge_plugin.core.readers import read_chargepoints

STANDARD = "chargepoint_id,latitude,longitude,power_kw,on_street\nS1,51.5074,-0.1278,7,yes\n"
NCR = "chargeDeviceID,name,latitude,longitude,deviceControllerName,connector1Type,connector1RatedOutputKW\nN1,Site,51.5074,-0.1278,Ctrl,Type 2,22\n"
OCPI = {"data": [{"id": "L1", "name": "Site", "coordinates": {"latitude": "51.5074", "longitude": "-0.1278"}, "evses": [{"uid": "1", "evse_id": "GB*ABC*E1", "status": "AVAILABLE", "connectors": [{"standard": "IEC_62196_T2", "max_electric_power": 7400}]}]}], "status_code": 1000}


def test_csv_by_header(tmp_path):
    (tmp_path / "standard.csv").write_text(STANDARD)
    (tmp_path / "registry.csv").write_text(NCR)
    assert list(read_chargepoints(tmp_path / "standard.csv", layer=None).chargepoints["on_street"]) == [True]
    registry = read_chargepoints(tmp_path / "registry.csv").chargepoints
    assert (registry["chargepoint_id"].iloc[0], registry["operator"].iloc[0], registry["power_kw"].iloc[0]) == ("N1", "Ctrl", 22.0)


@pytest.mark.parametrize("suffix", [".json", ".geojson"])
def test_json_is_ocpi_or_geojson_by_content(tmp_path, suffix):
    ocpi = tmp_path / f"locations{suffix}"
    ocpi.write_text(json.dumps(OCPI))
    assert list(read_chargepoints(ocpi).chargepoints["chargepoint_id"]) == ["GB*ABC*E1"]
    geojson = tmp_path / f"layer{suffix}"
    gpd.GeoDataFrame({"id": ["G1"]}, geometry=[Point(-0.1278, 51.5074)], crs=4326).to_file(geojson, driver="GeoJSON")
    assert list(read_chargepoints(geojson).chargepoints["chargepoint_id"]) == ["G1"]


def test_invalid_json_is_explained_as_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"data": [')
    with pytest.raises(SourceError, match="not valid JSON"):
        read_chargepoints(path)


def test_geopackage_with_layer_option(tmp_path):
    path = tmp_path / "sites.gpkg"
    gpd.GeoDataFrame({"siteid": [1]}, geometry=[Point(530000, 180000)], crs=27700).to_file(path, layer="sites", driver="GPKG")
    assert list(read_chargepoints(path, layer="sites", london_only=True).chargepoints["chargepoint_id"]) == ["1"]


def test_unknown_format(tmp_path):
    with pytest.raises(SourceError, match="not a format the plugin reads"):
        read_chargepoints(tmp_path / "points.xlsx")
