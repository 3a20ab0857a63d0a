"""Siting (core/siting.py): scoring parts on hand-made geometry, the choice of sites against brute force, bad input."""
import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from ev_charge_plugin.core import siting
from ev_charge_plugin.core.errors import CancelledError, SourceError
from ev_charge_plugin.core.report import REJECTED, REPAIRED
from ev_charge_plugin.core.siting import ScoreWeights, coverage, prepare, score_candidates, select_sites

ORIGIN = (530000.0, 180000.0)


def bng(geometries, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geometries), crs=27700)


def at(x, y) -> Point:
    return Point(ORIGIN[0] + x, ORIGIN[1] + y)


# -- brute force ---------------------------------------------------------------------------------

def instance(seed, candidates=12, demand=40, side=2000.0):
    """A seeded layout dense enough that many demand points are covered twice or more, with weights 1..3 (ties)."""
    rng = np.random.default_rng(seed)
    candidate_xy = rng.uniform(0, side, (candidates, 2))
    demand_xy = rng.uniform(0, side, (demand, 2))
    return candidate_xy, demand_xy, rng.integers(1, 4, demand).astype(float)


def covered_by(matrix, weight, sites, served=None) -> float:
    if not len(sites):
        return 0.0
    hit = matrix[list(sites)].any(axis=0)
    if served is not None:
        hit &= ~served
    return float(weight[hit].sum())


def keeps_separation(xy, sites, separation) -> bool:
    return all(math.dist(xy[a], xy[b]) >= separation for a, b in itertools.combinations(sites, 2))


def brute_force(cover, weight, k=None, separation=0.0, served=None, cost=None, budget=None) -> float:
    """The best coverage over every set of at most k sites (or every set within the budget), tried one by one."""
    matrix = cover.matrix.toarray() > 0
    n = cover.n_candidates
    sizes = range(0, (k if k is not None else n) + 1)
    best = 0.0
    for size in sizes:
        for sites in itertools.combinations(range(n), size):
            if budget is not None and cost[list(sites)].sum() > budget:
                continue
            if separation and not keeps_separation(cover.candidate_xy, sites, separation):
                continue
            best = max(best, covered_by(matrix, weight, sites, served))
    return best


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("separation", [0.0, 400.0])
def test_exact_equals_brute_force(seed, separation):
    candidate_xy, demand_xy, weight = instance(seed)
    cover = coverage(candidate_xy, demand_xy, 500)
    assert (np.asarray(cover.matrix.sum(axis=0)).ravel() >= 2).any()  # demand covered twice is in play
    expected = brute_force(cover, weight, k=3, separation=separation)
    chosen = select_sites(cover, weight, k=3, method="exact", min_separation_m=separation)
    assert chosen.status == siting.OPTIMAL
    assert chosen.covered == pytest.approx(expected)
    assert covered_by(cover.matrix.toarray() > 0, weight, chosen.chosen) == pytest.approx(expected)
    assert len(set(chosen.chosen)) == len(chosen.chosen) <= 3
    assert keeps_separation(candidate_xy, chosen.chosen, separation)
    assert chosen.added.sum() == pytest.approx(chosen.covered)
    assert chosen.gap == 0.0
    assert chosen.share == pytest.approx(expected / weight.sum())


@pytest.mark.parametrize("seed", range(6))
def test_exact_with_existing_charge_points_open_equals_brute_force(seed):
    candidate_xy, demand_xy, weight = instance(seed)
    existing = np.random.default_rng(100 + seed).uniform(0, 2000, (3, 2))
    cover = coverage(candidate_xy, demand_xy, 500)
    served = siting.served_mask(demand_xy, existing, 500)
    assert served.any() and not served.all()
    expected = brute_force(cover, weight, k=3, served=served)
    chosen = select_sites(cover, weight, k=3, method="exact", existing_xy=existing, min_separation_m=0)
    assert chosen.covered == pytest.approx(expected)
    assert chosen.unserved_demand == pytest.approx(weight[~served].sum())
    assert chosen.total_demand == pytest.approx(weight.sum())
    assert chosen.share == pytest.approx(expected / weight[~served].sum())


@pytest.mark.parametrize("seed", range(6))
def test_budget_exact_equals_brute_force_and_greedy_stays_within_it(seed):
    candidate_xy, demand_xy, weight = instance(seed)
    cost = np.random.default_rng(200 + seed).integers(1, 6, len(candidate_xy)).astype(float)
    cover = coverage(candidate_xy, demand_xy, 500)
    expected = brute_force(cover, weight, cost=cost, budget=7)
    exact = select_sites(cover, weight, budget=7, cost=cost, method="exact", min_separation_m=0)
    greedy = select_sites(cover, weight, budget=7, cost=cost, method="greedy", min_separation_m=0)
    assert exact.covered == pytest.approx(expected)
    assert exact.cost <= 7 and greedy.cost <= 7
    assert greedy.covered <= expected + 1e-9
    assert greedy.bound >= expected - 1e-9


@pytest.mark.parametrize("seed", range(20))
def test_greedy_is_never_better_than_exact_and_its_bound_holds(seed):
    candidate_xy, demand_xy, weight = instance(seed, candidates=30, demand=200, side=3000.0)
    cover = coverage(candidate_xy, demand_xy, 500)
    exact = select_sites(cover, weight, k=4, method="exact", min_separation_m=250)
    greedy = select_sites(cover, weight, k=4, method="greedy", min_separation_m=250)
    assert greedy.status == siting.GREEDY_ANSWER
    assert greedy.covered <= exact.covered + 1e-9
    assert greedy.bound >= exact.covered - 1e-9
    assert greedy.gap == pytest.approx((greedy.bound - greedy.covered) / greedy.bound)


@pytest.mark.parametrize("seed", range(6))
def test_greedy_matches_exact_for_one_site(seed):
    candidate_xy, demand_xy, weight = instance(seed)
    cover = coverage(candidate_xy, demand_xy, 500)
    greedy = select_sites(cover, weight, k=1, min_separation_m=0)
    assert greedy.covered == pytest.approx(brute_force(cover, weight, k=1))
    assert greedy.gap == 0.0  # one site: the best single gain is its own bound


def test_greedy_matches_exact_when_catchments_do_not_overlap():
    """Clusters 5 km apart, each reached by one candidate only: the greedy answer is the k heaviest clusters."""
    rng = np.random.default_rng(3)
    centres = np.array([[i * 5000.0, 0.0] for i in range(8)])
    demand_xy = np.concatenate([centre + rng.uniform(-200, 200, (10, 2)) for centre in centres])
    weight = rng.integers(1, 50, len(demand_xy)).astype(float)
    cover = coverage(centres, demand_xy, 400)
    cluster_weight = weight.reshape(8, 10).sum(axis=1)
    greedy = select_sites(cover, weight, k=3)
    exact = select_sites(cover, weight, k=3, method="exact")
    assert greedy.covered == exact.covered == pytest.approx(np.sort(cluster_weight)[-3:].sum())
    assert list(greedy.chosen) == list(np.argsort(-cluster_weight, kind="stable")[:3])
    assert list(greedy.added) == pytest.approx(list(np.sort(cluster_weight)[::-1][:3]))


def test_pick_order_and_the_demand_each_adds():
    """0 reaches a (5) and b (3), 1 reaches b and c (4), 2 reaches c: greedy takes 0 (adds 8), then 1 (adds 4)."""
    candidate_xy = np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]])
    demand_xy = np.array([[-300.0, 0.0], [500.0, 0.0], [1500.0, 0.0]])
    weight = np.array([5.0, 3.0, 4.0])
    cover = coverage(candidate_xy, demand_xy, 500)
    for method in ("greedy", "exact"):
        chosen = select_sites(cover, weight, k=2, method=method, min_separation_m=0)
        assert chosen.covered == 12.0
        assert list(chosen.added) == [8.0, 4.0]
        assert chosen.chosen[0] == 0 and chosen.chosen[1] in (1, 2)
        assert chosen.share == 1.0
    frame = select_sites(cover, weight, k=2, min_separation_m=0).to_frame()
    assert list(frame.columns) == siting.SELECTION_COLUMNS
    assert list(frame["order"]) == [1, 2] and list(frame["candidate"]) == [0, 1]
    assert list(frame["cumulative_demand"]) == [8.0, 12.0]
    assert list(frame["cumulative_share"]) == pytest.approx([8 / 12, 1.0])


def test_ties_go_to_the_first_candidate():
    """Four candidates reaching four equal demand points each on their own: the first k win, in order."""
    candidate_xy = np.array([[i * 3000.0, 0.0] for i in range(4)])
    cover = coverage(candidate_xy, candidate_xy + 10.0, 400)
    greedy = select_sites(cover, np.ones(4), k=2)
    assert list(greedy.chosen) == [0, 1]
    assert select_sites(cover, np.ones(4), k=2, method="exact").covered == 2.0


def test_separation_keeps_two_sites_off_the_same_street():
    """Two sites 100 m apart with the heaviest demand between them; a third far away."""
    candidate_xy = np.array([[0.0, 0.0], [100.0, 0.0], [2000.0, 0.0]])
    demand_xy = np.array([[50.0, 0.0], [-350.0, 0.0], [450.0, 0.0], [2000.0, 0.0]])
    weight = np.array([10.0, 4.0, 4.0, 1.0])
    cover = coverage(candidate_xy, demand_xy, 400)
    assert set(select_sites(cover, weight, k=2, min_separation_m=0).chosen) == {0, 1}
    for method in ("greedy", "exact"):
        chosen = select_sites(cover, weight, k=2, method=method, min_separation_m=200)
        assert 2 in chosen.chosen and len(chosen.chosen) == 2
        assert chosen.covered == 15.0
    # exactly the separation apart is allowed
    assert set(select_sites(cover, weight, k=2, min_separation_m=100).chosen) == {0, 1}


def test_exact_falls_back_to_greedy_when_time_runs_out():
    candidate_xy, demand_xy, weight = instance(1, candidates=300, demand=3000, side=8000.0)
    cover = coverage(candidate_xy, demand_xy, 400)
    greedy = select_sites(cover, weight, k=12, min_separation_m=0)
    chosen = select_sites(cover, weight, k=12, method="exact", time_limit_s=0.0, min_separation_m=0)
    assert chosen.status in (siting.TIME_LIMIT_GREEDY, siting.TIME_LIMIT_BEST)
    assert chosen.covered >= greedy.covered
    assert chosen.gap is not None and chosen.gap > 0
    assert chosen.bound >= chosen.covered


def test_greedy_that_meets_its_bound_is_reported_optimal_without_the_solver(monkeypatch):
    candidate_xy = np.array([[0.0, 0.0], [3000.0, 0.0]])
    cover = coverage(candidate_xy, candidate_xy, 400)
    monkeypatch.setattr(siting, "milp", lambda *args, **kwargs: pytest.fail("the solver was not needed"))
    chosen = select_sites(cover, np.array([2.0, 1.0]), k=5, method="exact")
    assert chosen.status == siting.OPTIMAL and chosen.covered == 3.0 and chosen.gap == 0.0


def test_cancelling_stops_the_choice():
    candidate_xy, demand_xy, weight = instance(2)
    cover = coverage(candidate_xy, demand_xy, 500)
    with pytest.raises(CancelledError):
        select_sites(cover, weight, k=3, cancelled=lambda: True)


def test_progress_reaches_100():
    candidate_xy, demand_xy, weight = instance(2)
    seen = []
    select_sites(coverage(candidate_xy, demand_xy, 500), weight, k=3, method="exact", progress=seen.append)
    assert seen[-1] == 100.0 and seen == sorted(seen)


def test_more_sites_asked_for_than_candidates_chooses_every_site_that_adds_demand():
    candidate_xy = np.array([[0.0, 0.0], [3000.0, 0.0], [6000.0, 0.0], [20000.0, 0.0]])
    demand_xy = np.array([[0.0, 0.0], [3000.0, 0.0], [6000.0, 0.0]])
    cover = coverage(candidate_xy, demand_xy, 400)
    for method in ("greedy", "exact"):
        chosen = select_sites(cover, np.array([1.0, 2.0, 3.0]), k=10, method=method)
        assert list(chosen.chosen) == [2, 1, 0]  # the fourth reaches no demand
        assert chosen.covered == 6.0 and chosen.share == 1.0
        assert chosen.messages and "3 sites were chosen, not 10" in chosen.messages[0]


def test_candidates_that_are_not_allowed_are_never_chosen():
    candidate_xy, demand_xy, weight = instance(4)
    cover = coverage(candidate_xy, demand_xy, 500)
    allowed = np.ones(12, dtype=bool)
    allowed[select_sites(cover, weight, k=1).chosen[0]] = False
    for method in ("greedy", "exact"):
        chosen = select_sites(cover, weight, k=3, method=method, allowed=allowed, min_separation_m=0)
        assert allowed[chosen.chosen].all()


@pytest.mark.parametrize("arguments, message", [
    ({"k": 0}, "at least 1"),
    ({"k": 2.5}, "whole number"),
    ({}, "number of sites to choose, or a budget"),
    ({"budget": 10}, "needs a cost"),
    ({"budget": -1, "cost": np.ones(12)}, "positive"),
    ({"budget": 5, "cost": -np.ones(12)}, "cost of at least 0"),
    ({"k": 2, "method": "clever"}, "greedy or exact"),
    ({"k": 2, "method": "exact", "time_limit_s": -1}, "time limit"),
    ({"k": 2, "method": "exact", "time_limit_s": None}, "time limit"),
])
def test_bad_choice_parameters_give_a_clear_message(arguments, message):
    candidate_xy, demand_xy, weight = instance(0)
    with pytest.raises(SourceError, match=message):
        select_sites(coverage(candidate_xy, demand_xy, 500), weight, **arguments)


# -- scoring parts on hand-made geometry ---------------------------------------------------------

def hand_made():
    """Candidate 0 at the origin, candidate 1 far away, candidate 2 50 m from a charge point and inside an excluded square.

    Demand near 0: 5 at 100 m east (every charge point more than 400 m from it), 2 at 300 m
    north (a charge point 300 m further north serves it), 7 at 500 m (out of reach). Charge
    points within 400 m of 0: 20% and 60% used, one with no figure; one at 600 m, 90% used,
    out of reach.
    """
    candidate_xy = np.array([[0.0, 0.0], [10000.0, 0.0], [-5000.0, 0.0]])
    demand_xy = np.array([[100.0, 0.0], [0.0, 300.0], [500.0, 0.0]])
    weight = np.array([5.0, 2.0, 7.0])
    chargepoint_xy = np.array([[0.0, 600.0], [-350.0, 0.0], [-250.0, -250.0], [600.0, 0.0], [-300.0, 100.0], [-5050.0, 0.0]])
    utilisation = np.array([90.0, 20.0, 60.0, 90.0, np.nan, 10.0])
    # (0, 600) is 600 m from candidate 0: it serves the demand at (0, 300) without counting in the pressure.
    excluded = gpd.GeoSeries([box(-5100, -100, -4900, 100)], crs=27700)
    return candidate_xy, demand_xy, weight, chargepoint_xy, utilisation, excluded


def test_each_score_part_is_the_answer_known_by_construction():
    candidate_xy, demand_xy, weight, chargepoint_xy, utilisation, excluded = hand_made()
    scores = score_candidates(candidate_xy, chargepoint_xy, utilisation, demand_xy, weight, 400, excluded=excluded, min_spacing_m=100)
    assert list(scores.columns) == siting.SCORE_COLUMNS
    assert list(scores["new_demand"]) == [5.0, 0.0, 0.0]
    assert list(scores["served_demand"]) == [2.0, 0.0, 0.0]
    # (20 + 60) / 2 near the first; the 90% at 600 m and the one with no figure are left out.
    assert list(scores["pressure"]) == [40.0, 0.0, 10.0]
    assert list(scores["constraints_broken"]) == [0, 0, 2]
    assert scores.loc[0, "constraints"] == ""
    assert "excluded area" in scores.loc[2, "constraints"] and "50 m from an existing charge point (minimum 100 m)" in scores.loc[2, "constraints"]
    # Demand parts over the largest catchment (7), pressure over the highest (40).
    assert scores.loc[0, "score"] == pytest.approx(1.0 * 5 / 7 - 0.25 * 2 / 7 + 0.5 * 40 / 40)
    assert scores.loc[1, "score"] == 0.0
    assert scores.loc[2, "score"] == pytest.approx(0.5 * 10 / 40 - 2.0 * 2)
    assert list(scores["rank"]) == [1, 2, 3]
    assert scores.attrs["weights"] == ScoreWeights().as_dict()
    assert scores.attrs["scales"] == {"demand": 7.0, "pressure": 40.0}
    assert scores.loc[0, "weights"] == "new_demand=1; served_demand=-0.25; pressure=0.5; constraints_broken=-2"


def test_weights_are_configurable_and_equal_scores_share_a_rank():
    candidate_xy, demand_xy, weight, chargepoint_xy, utilisation, excluded = hand_made()
    candidate_xy = np.vstack([candidate_xy, candidate_xy[:1]])  # a copy of candidate 0
    only_demand = ScoreWeights(new_demand=2.0, served_demand=0.0, pressure=0.0, constraints_broken=0.0)
    scores = score_candidates(candidate_xy, chargepoint_xy, utilisation, demand_xy, weight, 400, weights=only_demand,
                              excluded=excluded, min_spacing_m=100)
    assert list(scores["score"]) == pytest.approx([2 * 5 / 7, 0.0, 0.0, 2 * 5 / 7])
    assert list(scores["rank"]) == [1, 3, 3, 1]
    assert scores.attrs["weights"]["new_demand"] == 2.0


def test_each_parts_contribution_adds_up_to_the_score():
    candidate_xy, demand_xy, weight, chargepoint_xy, utilisation, excluded = hand_made()
    weights = ScoreWeights(new_demand=1.0, served_demand=-0.5, pressure=0.25, constraints_broken=-3.0)
    scores = score_candidates(candidate_xy, chargepoint_xy, utilisation, demand_xy, weight, 400, weights=weights,
                              excluded=excluded, min_spacing_m=100)
    scales = scores.attrs["scales"]
    assert list(scores[siting.CONTRIBUTIONS].sum(axis=1)) == pytest.approx(list(scores["score"]))
    assert list(scores["served_demand_score"]) == pytest.approx(list(-0.5 * scores["served_demand"] / scales["demand"]))
    assert list(scores["constraints_broken_score"]) == pytest.approx(list(-3.0 * scores["constraints_broken"]))


def test_a_wider_radius_reaches_more_demand():
    candidate_xy, demand_xy, weight, chargepoint_xy, utilisation, _ = hand_made()
    scores = score_candidates(candidate_xy, chargepoint_xy, utilisation, demand_xy, weight, 500)
    # At 500 m (boundary included) the demand at (500, 0) is in reach, but a charge point 100 m from it serves it,
    # and the one at (-350, 0), 450 m from (100, 0), now serves that one too.
    assert scores.loc[0, "new_demand"] == 0.0 and scores.loc[0, "served_demand"] == 14.0


def test_area_apportioning_gives_a_catchment_its_share_of_a_polygon():
    """A 1000 x 100 m strip holding 10: a catchment reaching its western half gets 5."""
    strip = bng([box(0, 0, 1000, 100)], households=[10.0])
    xy, weight, source = siting.demand_points(strip, "households", "area", cell_m=50)
    assert len(xy) == 40 and weight.sum() == pytest.approx(10.0) and (source == 0).all()
    scores = score_candidates(np.array([[0.0, 50.0]]), None, None, xy, weight, 500)
    assert scores.loc[0, "new_demand"] == pytest.approx(5.0)
    centroid_xy, centroid_weight, _ = siting.demand_points(strip, "households", "centroid")
    assert centroid_xy.tolist() == [[500.0, 50.0]] and centroid_weight.tolist() == [10.0]


def test_a_polygon_smaller_than_the_grid_keeps_its_weight_and_points_stay_points():
    layer = bng([box(10, 10, 20, 20), Point(500, 500), box(0, 1000, 400, 1400)], households=[3.0, 4.0, 16.0])
    xy, weight, source = siting.demand_points(layer, "households", "area", cell_m=100)
    assert weight.sum() == pytest.approx(23.0)
    assert xy[source == 0].tolist() == [[15.0, 15.0]] and weight[source == 0].tolist() == [3.0]
    assert xy[source == 1].tolist() == [[500.0, 500.0]]
    assert (source == 2).sum() == 16 and weight[source == 2] == pytest.approx(np.ones(16))


def test_centroid_demand_outside_its_polygon_moves_inside():
    u_shape = Polygon([(0, 0), (300, 0), (300, 300), (200, 300), (200, 100), (100, 100), (100, 300), (0, 300)])
    assert not u_shape.contains(u_shape.centroid)
    xy, _, _ = siting.demand_points(bng([u_shape], w=[1.0]), "w", "centroid")
    assert u_shape.contains(Point(xy[0]))


def test_a_candidate_polygon_stands_on_its_own_ground_by_default():
    l_shape = Polygon([(0, 0), (100, 0), (100, 10), (10, 10), (10, 100), (0, 100)])
    assert not l_shape.contains(l_shape.centroid)
    on_surface = siting.candidate_points(bng([l_shape]))
    assert l_shape.contains(Point(on_surface[0]))
    assert siting.candidate_points(bng([l_shape]), "centroid")[0] == pytest.approx([l_shape.centroid.x, l_shape.centroid.y])


# -- preparing layers, and bad input --------------------------------------------------------------

@pytest.fixture
def layers():
    candidates = bng([at(0, 0), at(800, 0), box(ORIGIN[0] + 1500, ORIGIN[1] - 20, ORIGIN[0] + 1540, ORIGIN[1] + 20)], cost=[100.0, 200.0, 300.0])
    wards = bng([box(ORIGIN[0] - 1000, ORIGIN[1] - 1000, ORIGIN[0] + 2000, ORIGIN[1] + 1000)], households_no_offstreet=[600])
    chargepoints = bng([at(0, 300), at(800, 600)], occupancy=[55.0, 15.0])
    return candidates, wards, chargepoints


def test_prepare_turns_layers_into_arrays_in_bng(layers):
    candidates, wards, chargepoints = layers
    data = prepare(candidates, wards, "households_no_offstreet", chargepoints, "occupancy", cost_field="cost")
    assert data.candidate_xy[:2].tolist() == [list(ORIGIN), [ORIGIN[0] + 800, ORIGIN[1]]]
    assert data.candidate_xy[2] == pytest.approx([ORIGIN[0] + 1520, ORIGIN[1]])
    assert data.cost.tolist() == [100.0, 200.0, 300.0]
    assert len(data.demand_xy) == 30 * 20 and data.demand_weight.sum() == pytest.approx(600)  # 100 m grid
    assert data.utilisation.tolist() == [55.0, 15.0]
    assert not data.messages and not data.report.problems
    scores = score_candidates(data.candidate_xy, data.chargepoint_xy, data.utilisation, data.demand_xy, data.demand_weight)
    assert scores.loc[0, "pressure"] == 55.0 and scores.loc[0, "served_demand"] > 0


def test_layers_in_other_crss_are_transformed_and_a_geographic_one_is_warned_about(layers):
    candidates, wards, chargepoints = layers
    expected = prepare(candidates, wards, "households_no_offstreet", chargepoints, "occupancy")
    data = prepare(candidates.to_crs(4326), wards.to_crs(3857), "households_no_offstreet", chargepoints.to_crs(4326), "occupancy")
    assert data.candidate_xy == pytest.approx(expected.candidate_xy, abs=0.01)
    assert data.chargepoint_xy == pytest.approx(expected.chargepoint_xy, abs=0.01)
    assert data.demand_weight.sum() == pytest.approx(600)
    geographic = [message for message in data.messages if "geographic" in message]
    assert len(geographic) == 2 and "EPSG:4326" in geographic[0] and "candidate" in geographic[0]


def test_a_layer_without_crs_is_refused(layers):
    candidates, wards, _ = layers
    with pytest.raises(SourceError, match="candidate layer has no coordinate reference system"):
        prepare(gpd.GeoDataFrame(geometry=list(candidates.geometry)), wards, "households_no_offstreet")


def test_an_empty_candidate_layer_is_refused(layers):
    _, wards, _ = layers
    with pytest.raises(SourceError, match="candidate layer has no features"):
        prepare(bng([]), wards, "households_no_offstreet")


@pytest.mark.parametrize("radius", [0, -400, float("nan"), "far"])
def test_a_radius_that_is_not_positive_is_refused(layers, radius):
    candidates, wards, _ = layers
    with pytest.raises(SourceError, match="walking distance must be a positive number"):
        prepare(candidates, wards, "households_no_offstreet", radius_m=radius)
    with pytest.raises(SourceError, match="walking distance must be a positive number"):
        coverage(np.zeros((1, 2)), np.zeros((1, 2)), radius)


def test_a_demand_field_that_is_not_numeric_is_refused(layers):
    candidates, wards, _ = layers
    with pytest.raises(SourceError, match="households_no_offstreet of the demand layer is not numeric: it holds \"many\""):
        prepare(candidates, wards.assign(households_no_offstreet=["many"]), "households_no_offstreet")
    with pytest.raises(SourceError, match="no field called households"):
        prepare(candidates, wards, "households")
    # numbers written as text are numbers
    data = prepare(candidates, wards.assign(households_no_offstreet=[" 600 "]), "HOUSEHOLDS_NO_OFFSTREET")
    assert data.demand_weight.sum() == pytest.approx(600)


def test_invalid_geometries_are_repaired_or_dropped_and_reported(layers):
    _, wards, _ = layers
    bowtie = Polygon([(ORIGIN[0], ORIGIN[1]), (ORIGIN[0] + 100, ORIGIN[1] + 100), (ORIGIN[0] + 100, ORIGIN[1]), (ORIGIN[0], ORIGIN[1] + 100)])
    assert not bowtie.is_valid
    candidates = bng([at(0, 0), None, bowtie, Point()])
    bad_wards = pd.concat([wards, bng([None], households_no_offstreet=[5]), bng([box(0, 0, 1, 1)], households_no_offstreet=[None])])
    data = prepare(candidates, bad_wards, "households_no_offstreet")
    assert len(data.candidate_xy) == 2 and list(data.candidates.index) == [0, 2]
    problems = data.report.to_frame()
    assert problems[["record", "severity"]].values.tolist() == [[2, REJECTED], [3, REPAIRED], [4, REJECTED], [2, REJECTED], [3, REJECTED]]
    assert problems["reason"].str.contains("no geometry|repaired|no weight").all()
    assert data.demand_weight.sum() == pytest.approx(600)


def test_a_layer_with_no_usable_candidate_is_refused(layers):
    _, wards, _ = layers
    with pytest.raises(SourceError, match="No candidate site has a usable geometry"):
        prepare(bng([None, Point()]), wards, "households_no_offstreet")


def test_candidates_outside_the_demand_area_are_reported_and_never_chosen(layers):
    candidates, wards, chargepoints = layers
    far_away = pd.concat([candidates, bng([at(50000, 0)], cost=[1.0])], ignore_index=True)
    data = prepare(far_away, wards, "households_no_offstreet", chargepoints)
    assert any("1 of 4 candidate sites have no demand within 400 m" in message for message in data.messages)
    scores = score_candidates(data.candidate_xy, data.chargepoint_xy, data.utilisation, data.demand_xy, data.demand_weight)
    assert scores.loc[3, ["new_demand", "served_demand", "score"]].tolist() == [0.0, 0.0, 0.0]
    chosen = select_sites(coverage(data.candidate_xy, data.demand_xy), data.demand_weight, k=4, method="exact")
    assert 3 not in chosen.chosen
    only_far = select_sites(coverage(data.candidate_xy[3:], data.demand_xy), data.demand_weight, k=1, method="exact")
    assert len(only_far.chosen) == 0 and only_far.covered == 0.0 and only_far.status == siting.OPTIMAL


def test_candidates_without_a_cost_cannot_be_chosen_within_a_budget(layers):
    candidates, wards, _ = layers
    data = prepare(candidates.assign(cost=[100.0, None, -5.0]), wards, "households_no_offstreet", cost_field="cost")
    assert data.cost.tolist() == [100.0] and len(data.candidate_xy) == 1
    assert data.report.to_frame()["record"].tolist() == [2, 3]
    with pytest.raises(SourceError, match="cost of the candidate layer is not numeric"):
        prepare(candidates.assign(cost=["cheap", "dear", "dear"]), wards, "households_no_offstreet", cost_field="cost")
