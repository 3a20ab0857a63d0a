"""Nearest charge points (core/nearest.py) against a brute-force distance sort."""
import numpy as np
import pandas as pd
import pytest

from ev_charge_plugin.core.nearest import nearest

LONDON = (530000.0, 180000.0)


@pytest.fixture(scope="module")
def chargepoints():
    """Four hundred charge points spread over 30 km around central London, a tenth of them rapid."""
    rng = np.random.default_rng(7)
    n = 400
    return pd.DataFrame({
        "chargepoint_id": [f"CP-{i:03d}" for i in range(n)],
        "easting": LONDON[0] + rng.uniform(-15000, 15000, n),
        "northing": LONDON[1] + rng.uniform(-15000, 15000, n),
        "speed_band": np.where(rng.random(n) < 0.1, "rapid", "slow"),
        "status": rng.choice(["AVAILABLE", "CHARGING", "OUTOFORDER", "available", None], n),
    })


def brute_force(origin, points, count):
    distances = np.hypot(points["easting"] - origin[0], points["northing"] - origin[1])
    order = np.argsort(distances.to_numpy(), kind="stable")[:count]
    return list(points.index[order]), list(distances.to_numpy()[order])


def test_equals_a_brute_force_sort(chargepoints):
    rng = np.random.default_rng(8)
    origins = np.column_stack([LONDON[0] + rng.uniform(-20000, 20000, 50), LONDON[1] + rng.uniform(-20000, 20000, 50)])
    result = nearest(origins, chargepoints, count=7)
    assert len(result) == 50 * 7
    for origin, rows in result.groupby("origin"):
        expected_ids, expected_distances = brute_force(origins[origin], chargepoints, 7)
        assert list(rows["rank"]) == list(range(1, 8))
        assert list(rows["chargepoint"]) == expected_ids
        assert list(rows["distance_m"]) == pytest.approx(expected_distances)


def test_filters_rapid_only_and_available_only(chargepoints):
    origin = np.array([LONDON])
    rapid = nearest(origin, chargepoints, count=5, rapid_only=True)
    rapids = chargepoints[chargepoints["speed_band"] == "rapid"]
    assert list(rapid["chargepoint"]) == brute_force(LONDON, rapids, 5)[0]
    available = nearest(origin, chargepoints, count=5, available_only=True)
    # Statuses are compared without regard to case; missing ones are not available.
    free = chargepoints[chargepoints["status"].fillna("").str.upper() == "AVAILABLE"]
    assert list(available["chargepoint"]) == brute_force(LONDON, free, 5)[0]
    both = nearest(origin, chargepoints, count=3, rapid_only=True, available_only=True)
    assert set(chargepoints.loc[both["chargepoint"], "speed_band"]) == {"rapid"}
    assert set(chargepoints.loc[both["chargepoint"], "status"].str.upper()) == {"AVAILABLE"}


def test_an_origin_far_outside_london_still_gets_its_nearest_with_the_distance(chargepoints):
    manchester = np.array([[383000.0, 398000.0]])
    result = nearest(manchester, chargepoints, count=2)
    expected_ids, expected_distances = brute_force(manchester[0], chargepoints, 2)
    assert list(result["chargepoint"]) == expected_ids
    assert result["distance_m"].iloc[0] == pytest.approx(expected_distances[0])
    assert result["distance_m"].iloc[0] > 200_000


def test_fewer_charge_points_than_asked_and_origins_without_coordinates(chargepoints):
    few = chargepoints.head(3)
    result = nearest(np.array([LONDON, [np.nan, np.nan]]), few, count=10)
    assert list(result["origin"]) == [0, 0, 0] and list(result["rank"]) == [1, 2, 3]
    assert nearest(np.array([LONDON]), few.iloc[0:0], count=5).empty
