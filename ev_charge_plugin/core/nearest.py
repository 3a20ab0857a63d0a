"""The nearest charge points to places: a k-d tree over the charge points, never all pairs.

Everything is in British National Grid (EPSG:27700), so distances are metres on
the ground (straight line, not by road).
"""
import numpy as np
import pandas as pd

from .schema import RAPID, ULTRA_RAPID

NEAREST_COLUMNS = ["origin", "rank", "chargepoint", "distance_m"]
# OCPI statuses in which a driver can plug in now.
AVAILABLE_STATUSES = ("AVAILABLE",)


def eligible(chargepoints: pd.DataFrame, rapid_only: bool = False, available_only: bool = False) -> np.ndarray:
    """Row positions of the charge points a search may return: with coordinates, and passing the filters."""
    keep = chargepoints["easting"].notna().to_numpy() & chargepoints["northing"].notna().to_numpy()
    if rapid_only:
        keep &= chargepoints["speed_band"].isin([RAPID, ULTRA_RAPID]).to_numpy()
    if available_only:
        # Operators' files write statuses in any case; OCPI's are upper case.
        keep &= chargepoints["status"].astype("string").str.strip().str.upper().isin(AVAILABLE_STATUSES).fillna(False).to_numpy(dtype=bool)
    return np.flatnonzero(keep)


def nearest(origins_xy: np.ndarray, chargepoints: pd.DataFrame, count: int = 5, *, rapid_only: bool = False,
            available_only: bool = False) -> pd.DataFrame:
    """The ``count`` nearest charge points to each origin, nearest first.

    ``origins_xy`` is an (n, 2) array of eastings and northings; ``chargepoints``
    has ``easting``, ``northing`` and, for the filters, ``speed_band`` and
    ``status``. Returns NEAREST_COLUMNS: ``origin`` and ``chargepoint`` are row
    positions in the inputs, ``rank`` counts from 1. An origin gets fewer rows
    only when fewer charge points pass the filters; one far from London still
    gets its nearest, however far.
    """
    from scipy.spatial import cKDTree

    origins_xy = np.asarray(origins_xy, dtype="float64").reshape(-1, 2)
    candidates = eligible(chargepoints, rapid_only, available_only)
    count = min(int(count), len(candidates))
    usable = np.flatnonzero(np.isfinite(origins_xy).all(axis=1))
    if count < 1 or not len(usable):
        return pd.DataFrame({"origin": pd.Series(dtype="int64"), "rank": pd.Series(dtype="int64"),
                             "chargepoint": pd.Series(dtype="int64"), "distance_m": pd.Series(dtype="float64")})
    tree = cKDTree(np.column_stack([chargepoints["easting"].to_numpy(dtype="float64")[candidates],
                                    chargepoints["northing"].to_numpy(dtype="float64")[candidates]]))
    distances, found = tree.query(origins_xy[usable], k=count)
    distances, found = distances.reshape(len(usable), count), found.reshape(len(usable), count)
    return pd.DataFrame({
        "origin": np.repeat(usable, count),
        "rank": np.tile(np.arange(1, count + 1), len(usable)),
        "chargepoint": candidates[found.ravel()],
        "distance_m": distances.ravel(),
    })
