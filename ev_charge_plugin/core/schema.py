"""The canonical charge point frame (DESIGN section 4) and its vocabulary."""
import math

import pandas as pd

BNG_EPSG = 27700
WGS84_EPSG = 4326

# One row per charge device (for OCPI: one EVSE). Order is the layer's field order.
CHARGEPOINT_COLUMNS = {
    "chargepoint_id": "string",
    "name": "string",
    "operator": "string",
    "latitude": "float64",
    "longitude": "float64",
    # The point in British National Grid (EPSG:27700), the geometry's coordinates.
    "easting": "float64",
    "northing": "float64",
    "power_kw": "float64",
    "speed_band": "string",
    "connectors": "Int64",
    "connector_types": "string",
    "status": "string",
    "on_street": "boolean",
    "scheme": "string",
    "source": "string",
    "in_london": "boolean",
}

SLOW, FAST, RAPID, ULTRA_RAPID, UNKNOWN = "slow", "fast", "rapid", "ultra-rapid", "unknown"
# Lower bounds in kW; the regulations call 50 kW and over "rapid".
SPEED_BANDS = ((150.0, ULTRA_RAPID), (50.0, RAPID), (8.0, FAST), (0.0, SLOW))
SPEED_BAND_LABELS = {
    SLOW: "Slow (under 8 kW)",
    FAST: "Fast (8 to under 50 kW)",
    RAPID: "Rapid (50 to under 150 kW)",
    ULTRA_RAPID: "Ultra-rapid (150 kW and over)",
    UNKNOWN: "Power not reported",
}


def speed_band(power_kw) -> str:
    if power_kw is None or pd.isna(power_kw) or not math.isfinite(power_kw) or power_kw <= 0:
        return UNKNOWN
    return next(band for lower, band in SPEED_BANDS if power_kw >= lower)


def speed_bands(power_kw: pd.Series) -> pd.Series:
    """:func:`speed_band` for a whole column at once."""
    import numpy as np

    power = pd.to_numeric(power_kw, errors="coerce").astype("float64").to_numpy()
    known = np.isfinite(power) & (power > 0)
    conditions = [known & (power >= lower) for lower, _ in SPEED_BANDS]
    bands = np.select(conditions, [band for _, band in SPEED_BANDS], default=UNKNOWN)
    return pd.Series(bands, index=power_kw.index, dtype="string")


def empty_chargepoints():
    """An empty canonical frame with every column typed, in BNG."""
    import geopandas as gpd

    frame = pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in CHARGEPOINT_COLUMNS.items()})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=BNG_EPSG), crs=BNG_EPSG)


# The plugin's own charge point CSV standard (docs/data-standard.md). Either
# latitude/longitude (WGS84) or easting/northing (EPSG:27700) must be filled.
STANDARD_CSV_COLUMNS = [
    "chargepoint_id", "name", "operator", "latitude", "longitude", "easting", "northing",
    "power_kw", "connectors", "connector_types", "status", "on_street", "scheme",
]
STANDARD_CSV_REQUIRED = ["chargepoint_id", "power_kw"]
# connector_types holds several values separated by this character.
LIST_SEPARATOR = ";"
