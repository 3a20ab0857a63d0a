"""evcharge:scorecandidates and evcharge:selectsites through processing.run.

Hand-made layers in British National Grid whose answers are known by
construction (distances are whole metres from ORIGIN), a geographic copy of one,
every bad input of issue 5, and the demo data end to end.
"""
import math

import pytest
from demo_data import demo_layers
from qgis.core import (
    NULL,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsGraduatedSymbolRenderer,
    QgsPointXY,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProject,
    QgsSimpleMarkerSymbolLayerBase,
    QgsVectorLayer,
)

pytestmark = pytest.mark.qgis

ORIGIN = (530000.0, 180000.0)
DEFAULT_WEIGHTS = "new_demand=1; served_demand=-0.25; pressure=0.5; constraints_broken=-2"


class Log(QgsProcessingFeedback):
    """Feedback that keeps what the algorithm told the user."""

    def __init__(self):
        super().__init__()
        self.warnings, self.infos = [], []

    def pushWarning(self, warning):
        self.warnings.append(warning)

    def pushInfo(self, info):
        self.infos.append(info)

    def said(self, text):
        return any(text in line for line in self.warnings + self.infos)


def at(x, y) -> QgsGeometry:
    return QgsGeometry.fromPointXY(QgsPointXY(ORIGIN[0] + x, ORIGIN[1] + y))


def shape(wkt_offsets) -> QgsGeometry:
    """A polygon from (x, y) offsets around ORIGIN."""
    ring = ", ".join(f"{ORIGIN[0] + x} {ORIGIN[1] + y}" for x, y in wkt_offsets)
    return QgsGeometry.fromWkt(f"POLYGON(({ring}))")


def square(x0, y0, x1, y1) -> QgsGeometry:
    return shape([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)])


def make_layer(kind, fields, rows, crs="EPSG:27700", name="layer"):
    """A memory layer; ``rows`` are (geometry or None, attribute, ...); ``fields`` like "name:string"."""
    options = ([f"crs={crs}"] if crs else []) + [f"field={field}" for field in fields]
    uri = f"{kind}?{'&'.join(options)}"
    layer = QgsVectorLayer(uri, name, "memory")
    assert layer.isValid()
    features = []
    for geometry, *attributes in rows:
        feature = QgsFeature(layer.fields())
        feature.setAttributes(list(attributes))
        if geometry is not None:
            feature.setGeometry(geometry)
        features.append(feature)
    assert layer.dataProvider().addFeatures(features)[0]
    return layer


def to_wgs84(layer):
    """The same layer stored in WGS84, as a GPS survey would give it."""
    transform = QgsCoordinateTransform(layer.crs(), QgsCoordinateReferenceSystem("EPSG:4326"), QgsProject.instance())
    copy = QgsVectorLayer(f"{('Point', 'LineString', 'Polygon')[layer.geometryType()]}?crs=EPSG:4326", "wgs84", "memory")
    copy.dataProvider().addAttributes(layer.fields().toList())
    copy.updateFields()
    features = []
    for feature in layer.getFeatures():
        geometry = QgsGeometry(feature.geometry())
        geometry.transform(transform)
        feature.setGeometry(geometry)
        features.append(feature)
    copy.dataProvider().addFeatures(features)
    return copy


def run(algorithm, feedback=None, **parameters):
    import processing

    parameters.setdefault("OUTPUT", "TEMPORARY_OUTPUT")
    return processing.run(f"evcharge:{algorithm}", parameters, feedback=feedback or Log())


def rows(layer, key="name"):
    return {feature[key]: feature for feature in layer.getFeatures()}


# -- scoring: three candidates whose parts are known --------------------------------------------

def score_layers():
    """C1 has 100 households to itself; C2's 50 are already served by a busy charge point 300 m away; C3 has 30;
    C4 lies 14 km from any demand."""
    candidates = make_layer("Point", ["name:string"], [(at(0, 0), "C1"), (at(2000, 0), "C2"), (at(4000, 0), "C3"), (at(10000, 10000), "C4")])
    demand = make_layer("Point", ["households:integer"], [(at(100, 0), 100), (at(2100, 0), 50), (at(3900, 0), 30)])
    chargepoints = make_layer("Point", ["chargepoint_id:string", "occupancy_pct:double"], [(at(2000, 300), "CP1", 80.0)])
    return candidates, demand, chargepoints


def score(candidates=None, demand=None, chargepoints=None, feedback=None, **options):
    layers = score_layers()
    parameters = {"CANDIDATES": candidates or layers[0], "DEMAND": demand or layers[1], "DEMAND_FIELD": "households",
                  "CHARGEPOINTS": chargepoints or layers[2], "RADIUS": 400}
    parameters.update(options)
    return run("scorecandidates", feedback, **parameters)


def test_score_parts_score_and_rank_are_known_by_construction(qgis_app):
    log = Log()
    result = score(feedback=log)
    output = result["OUTPUT"]
    assert output.crs().authid() == "EPSG:27700"
    scored = rows(output)
    assert sorted(scored) == ["C1", "C2", "C3", "C4"] and result["SCORED"] == 4 and result["LEFT_OUT"] == 0
    expected = {  # new, served, pressure, score (demand / 100, pressure / 80)
        "C1": (100, 0, 0, 1.0, 1),
        "C2": (0, 50, 80, -0.25 * 0.5 + 0.5 * 1.0, 2),
        "C3": (30, 0, 0, 0.3, 3),
        "C4": (0, 0, 0, 0.0, 4),
    }
    for name, (new, served, pressure, value, rank) in expected.items():
        feature = scored[name]
        assert feature["new_demand"] == pytest.approx(new), name
        assert feature["served_demand"] == pytest.approx(served), name
        assert feature["pressure"] == pytest.approx(pressure), name
        assert feature["constraints_broken"] == 0 and feature["constraints"] == ""
        assert feature["score"] == pytest.approx(value), name
        assert feature["rank"] == rank, name
        assert feature["weights"] == DEFAULT_WEIGHTS
    assert result["WEIGHTS"] == DEFAULT_WEIGHTS
    # The candidates keep their own fields, and stand where they were drawn.
    assert output.fields().names()[0] == "name"
    assert scored["C2"].geometry().asPoint() == QgsPointXY(ORIGIN[0] + 2000, ORIGIN[1])
    # C4 is outside the demand area: scored 0, with a warning saying so.
    assert log.said("1 of 4 candidate sites have no demand within 400 m")


def test_weights_change_the_ranking_and_are_written_into_the_output(qgis_app):
    output = score(WEIGHT_PRESSURE=5.0, WEIGHT_SERVED_DEMAND=0.0)["OUTPUT"]
    scored = rows(output)
    assert scored["C2"]["score"] == pytest.approx(5.0) and scored["C2"]["rank"] == 1
    assert scored["C1"]["rank"] == 2
    assert scored["C2"]["weights"] == "new_demand=1; served_demand=0; pressure=5; constraints_broken=-2"


def test_a_scored_layer_scored_again_has_its_score_fields_replaced(qgis_app):
    first = score()["OUTPUT"]
    log = Log()
    again = score(candidates=first, feedback=log, WEIGHT_NEW_DEMAND=2.0)["OUTPUT"]
    names = again.fields().names()
    assert len(names) == len(set(names)) == len(first.fields().names())
    assert rows(again)["C1"]["score"] == pytest.approx(2.0)
    assert log.said("fields named like output fields (new_demand, served_demand, pressure")


def test_constraints_push_a_site_down_and_say_why(qgis_app):
    excluded = make_layer("Polygon", [], [(square(-50, -50, 50, 50),)])
    scored = rows(score(EXCLUDED=excluded, MIN_SPACING=500)["OUTPUT"])
    assert scored["C1"]["constraints_broken"] == 1 and scored["C1"]["constraints"] == "in an excluded area"
    assert scored["C1"]["score"] == pytest.approx(1.0 - 2.0)
    assert scored["C2"]["constraints_broken"] == 1
    assert scored["C2"]["constraints"] == "300 m from an existing charge point (minimum 500 m)"
    # The sites that break nothing come first.
    assert scored["C3"]["rank"] == 1 and scored["C4"]["rank"] == 2
    assert {scored["C1"]["rank"], scored["C2"]["rank"]} == {3, 4}


def test_utilisation_field_is_chosen_or_left_out(qgis_app):
    chargepoints = make_layer("Point", ["chargepoint_id:string", "busy:double"], [(at(2000, 300), "CP1", 40.0)])
    log = Log()
    scored = rows(score(chargepoints=chargepoints, feedback=log)["OUTPUT"])
    assert scored["C2"]["pressure"] == 0 and log.said("pressure is 0")
    scored = rows(score(chargepoints=chargepoints, UTILISATION_FIELD="busy")["OUTPUT"])
    assert scored["C2"]["pressure"] == pytest.approx(40.0)
    with pytest.raises(QgsProcessingException, match="no field called nothing"):
        score(chargepoints=chargepoints, UTILISATION_FIELD="nothing")


def test_polygon_candidates_stand_at_their_point_on_surface_or_centroid(qgis_app):
    # An L whose centroid (about 233, 233) falls outside it, in the corner it wraps round.
    ell = shape([(0, 0), (1000, 0), (1000, 200), (200, 200), (200, 1000), (0, 1000), (0, 0)])
    candidates = make_layer("Polygon", ["name:string"], [(ell, "L")])
    demand = make_layer("Point", ["households:integer"], [(at(100, 100), 10)])
    on_surface = next(score(candidates, demand).get("OUTPUT").getFeatures()).geometry()
    assert ell.contains(on_surface)
    centroid = next(score(candidates, demand, CANDIDATE_POINT=1)["OUTPUT"].getFeatures()).geometry()
    assert not ell.contains(centroid)
    assert centroid.asPoint().x() == pytest.approx(ell.centroid().asPoint().x())


def test_polygon_demand_is_apportioned_by_area_or_put_at_the_centroid(qgis_app):
    # 800 m square with 64 households; the candidate 350 m from its centre, on its west edge's middle.
    demand = make_layer("Polygon", ["households:integer"], [(square(0, -400, 800, 400), 64)])
    candidates = make_layer("Point", ["name:string"], [(at(50, 0), "W")])
    by_area = next(score(candidates, demand)["OUTPUT"].getFeatures())
    # Area: 64 grid points 100 m apart (cell = 400 m / 4), one household each, counted within 400 m by hand.
    grid = [(50 + 100 * i, -350 + 100 * j) for i in range(8) for j in range(8)]
    inside = sum(1 for x, y in grid if math.hypot(x - 50, y) <= 400)
    assert 0 < inside < 64
    assert by_area["new_demand"] == pytest.approx(inside)
    at_centroid = next(score(candidates, demand, DEMAND_METHOD=1)["OUTPUT"].getFeatures())
    assert at_centroid["new_demand"] == pytest.approx(64)


def test_scores_styled_by_rank_with_metadata_when_loaded(qgis_app):
    import gc

    import processing

    layers = score_layers()
    project = QgsProject.instance()
    try:
        result = processing.runAndLoadResults("evcharge:scorecandidates", {
            "CANDIDATES": layers[0], "DEMAND": layers[1], "DEMAND_FIELD": "households", "CHARGEPOINTS": layers[2], "RADIUS": 400,
            "OUTPUT": "TEMPORARY_OUTPUT"})
        gc.collect()
        layer = project.mapLayer(result["OUTPUT"])
        assert layer.name() == "Candidate scores (400 m walk)"
        renderer = layer.renderer()
        assert isinstance(renderer, QgsGraduatedSymbolRenderer) and renderer.classAttribute() == "rank"
        ranges = renderer.ranges()
        assert [(r.lowerValue(), r.upperValue()) for r in ranges] == [(1, 1), (2, 2), (3, 3), (4, 4)]
        assert ranges[0].label() == "Rank 1"
        # Best dark: rank 1's colour is the darkest.
        lightness = [r.symbol().color().lightness() for r in ranges]
        assert lightness == sorted(lightness) and lightness[0] < lightness[-1]
        assert layer.labelsEnabled() and layer.labeling().settings().fieldName == "rank"
        abstract = layer.metadata().abstract()
        assert "Walking distance: 400 m" in abstract and DEFAULT_WEIGHTS in abstract
        assert "divided by 100" in abstract and "pressure by 80" in abstract
    finally:
        layer = None
        project.clear()


def test_rank_classes_hold_whole_runs_of_ranks(qgis_app):
    from ev_charge_plugin.qgis_io.siting_style import rank_ranges

    ranges = rank_ranges(list(range(1, 13)) + [12])
    assert len(ranges) == 5
    bounds = [(r.lowerValue(), r.upperValue()) for r in ranges]
    covered = [rank for lower, upper in bounds for rank in range(int(lower), int(upper) + 1)]
    assert covered == list(range(1, 13))
    assert ranges[0].label() == "Rank 1 to 2"
    assert rank_ranges([]) == []


# -- choosing sites: greedy falls short, exact does not --------------------------------------------

def select_layers(with_cost=True):
    """Sites S1 (-500, 0), M (0, 0), S2 (500, 0) on a line. M alone covers the most (A, C and X: 21), but S1 and S2
    together cover 40 (P, A and C, Q): greedy with k=2 takes M then S1 (31); the optimum is S1 + S2 (40)."""
    fields = ["name:string", "cost:double"] if with_cost else ["name:string"]
    sites = [(at(-500, 0), "S1", 4.0), (at(0, 0), "M", 10.0), (at(500, 0), "S2", 4.0)]
    candidates = make_layer("Point", fields, [site if with_cost else site[:2] for site in sites])
    demand = make_layer("Point", ["name:string", "households:double"], [
        (at(-850, 0), "P", 10), (at(-250, 0), "A", 10), (at(250, 0), "C", 10), (at(850, 0), "Q", 10), (at(0, 300), "X", 1)])
    return candidates, demand


def select(candidates=None, demand=None, feedback=None, **options):
    layers = select_layers()
    parameters = {"CANDIDATES": candidates or layers[0], "DEMAND": demand or layers[1], "DEMAND_FIELD": "households", "RADIUS": 400,
                  "COUNT": 2, "METHOD": 0}
    parameters.update(options)
    return run("selectsites", feedback, **parameters)


def picked(result):
    return [(f["name"], f["order"], f["added_demand"]) for f in sorted(result["OUTPUT"].getFeatures(), key=lambda f: f["order"])]


def test_greedy_takes_the_biggest_site_first_and_reports_its_gap(qgis_app):
    result = select(SUMMARY="TEMPORARY_OUTPUT")
    assert picked(result) == [("M", 1, 21.0), ("S1", 2, 10.0)]
    assert result["COVERED_DEMAND"] == pytest.approx(31) and result["STATUS"] == "greedy"
    # Bound: the best two gains at the start, 21 + 20 = 41.
    assert result["GAP"] == pytest.approx((41 - 31) / 41)
    assert result["SHARE"] == pytest.approx(31 / 41) and result["SITES"] == 2
    chosen = rows(result["OUTPUT"])
    assert chosen["S1"]["cumulative_demand"] == pytest.approx(31) and chosen["S1"]["cumulative_share"] == pytest.approx(31 / 41)
    assert chosen["S1"]["cost"] == 4.0  # the candidates' own fields are kept
    summary = next(result["SUMMARY"].getFeatures())
    assert summary["method"] == "greedy" and summary["status"] == "greedy" and summary["sites"] == 2
    assert summary["covered_demand"] == pytest.approx(31) and summary["total_demand"] == pytest.approx(41)
    assert summary["unserved_demand"] == pytest.approx(41)
    assert summary["share_of_unserved_pct"] == pytest.approx(100 * 31 / 41)
    assert summary["gap_pct"] == pytest.approx(100 * 10 / 41) and summary["bound"] == pytest.approx(41)
    assert summary["requested_sites"] == 2 and summary["radius_m"] == 400


def test_exact_finds_the_optimum_greedy_misses(qgis_app):
    result = select(METHOD=1, SUMMARY="TEMPORARY_OUTPUT")
    assert sorted(name for name, _, _ in picked(result)) == ["S1", "S2"]
    assert [added for _, _, added in picked(result)] == [20.0, 20.0]
    assert result["COVERED_DEMAND"] == pytest.approx(40) and result["STATUS"] == "optimal" and result["GAP"] == 0
    summary = next(result["SUMMARY"].getFeatures())
    assert summary["method"] == "exact" and summary["gap_pct"] == 0


def test_exact_out_of_time_falls_back_to_greedy_and_says_so(qgis_app):
    log = Log()
    result = select(METHOD=1, TIME_LIMIT=0, feedback=log)
    assert result["STATUS"] == "time limit: greedy answer"
    assert picked(result) == [("M", 1, 21.0), ("S1", 2, 10.0)]
    assert result["GAP"] == pytest.approx((41 - 31) / 41)
    assert log.said("reached its time limit of 0 s")


def test_choosing_can_be_cancelled(qgis_app):
    class CancelWhileChoosing(Log):
        def isCanceled(self):
            return self.progress() >= 30  # after the layers are read and prepared

    log = CancelWhileChoosing()
    assert select(METHOD=1, feedback=log) == {}
    assert log.said("Choosing sites was cancelled.")


def test_chosen_sites_labelled_by_pick_order_when_loaded(qgis_app):
    import gc

    import processing

    candidates, demand = select_layers()
    project = QgsProject.instance()
    try:
        result = processing.runAndLoadResults("evcharge:selectsites", {
            "CANDIDATES": candidates, "DEMAND": demand, "DEMAND_FIELD": "households", "COUNT": 2, "OUTPUT": "TEMPORARY_OUTPUT"})
        gc.collect()
        layer = project.mapLayer(result["OUTPUT"])
        assert layer.name() == "Chosen sites (2 by greedy)"
        assert layer.labelsEnabled() and '"order"' in layer.labeling().settings().fieldName
        assert layer.renderer().symbol().symbolLayer(0).shape() == QgsSimpleMarkerSymbolLayerBase.Star
        abstract = layer.metadata().abstract()
        assert "Covered by the chosen sites: 31.0" in abstract and "Gap: 24.39 %" in abstract
    finally:
        layer = None
        project.clear()


def test_exact_equals_greedy_on_an_easy_instance(qgis_app):
    """Three sites, each with its own demand: greedy is optimal, and exact says so."""
    candidates, _ = score_layers()[:2]
    demand = make_layer("Point", ["households:integer"], [(at(0, 100), 30), (at(2000, 100), 20), (at(4000, 100), 10)])
    greedy, exact = (select(candidates, demand, COUNT=2, METHOD=method) for method in (0, 1))
    assert picked(greedy) == picked(exact) == [("C1", 1, 30.0), ("C2", 2, 20.0)]
    assert greedy["GAP"] == exact["GAP"] == 0
    assert exact["STATUS"] == "optimal"


def test_budget_mode_chooses_by_demand_per_cost(qgis_app):
    result = select(COUNT=0, BUDGET=8, COST_FIELD="cost", SUMMARY="TEMPORARY_OUTPUT")
    assert sorted(name for name, _, _ in picked(result)) == ["S1", "S2"]
    summary = next(result["SUMMARY"].getFeatures())
    assert summary["cost"] == pytest.approx(8) and summary["budget"] == pytest.approx(8)
    assert summary["requested_sites"] == NULL
    # A budget too small for M, big enough for one small site.
    small = select(COUNT=0, BUDGET=5, COST_FIELD="cost", METHOD=1)
    assert [name for name, _, _ in picked(small)] == ["S1"] and small["COVERED_DEMAND"] == pytest.approx(20)


def test_budget_needs_a_cost_and_leaves_out_sites_without_one(qgis_app):
    with pytest.raises(QgsProcessingException, match="budget needs a cost"):
        select(COUNT=0, BUDGET=8)
    candidates = make_layer("Point", ["name:string", "cost:double"], [(at(-500, 0), "S1", 4.0), (at(0, 0), "M", None), (at(500, 0), "S2", 4.0)])
    log = Log()
    result = select(candidates, COUNT=0, BUDGET=100, COST_FIELD="cost", feedback=log)
    assert sorted(name for name, _, _ in picked(result)) == ["S1", "S2"]
    assert log.said("Feature 2 (left out): The candidate has no cost")


def test_existing_charge_points_count_as_open(qgis_app):
    existing = make_layer("Point", ["chargepoint_id:string"], [(at(-850, 50), "open")])
    one = select(COUNT=1, EXISTING=existing, SUMMARY="TEMPORARY_OUTPUT")
    summary = next(one["SUMMARY"].getFeatures())
    # P (10) is served already: 31 of the 41 households are left to cover.
    assert summary["total_demand"] == pytest.approx(41) and summary["unserved_demand"] == pytest.approx(31)
    assert picked(one) == [("M", 1, 21.0)]
    two = select(COUNT=2, METHOD=1, EXISTING=existing)
    # S1 now adds only A: M + S2 (21 + 10) beats S1 + S2 (10 + 20).
    assert sorted(name for name, _, _ in picked(two)) == ["M", "S2"]
    assert two["COVERED_DEMAND"] == pytest.approx(31) and two["SHARE"] == pytest.approx(1.0)


def test_separation_excluded_areas_and_spacing_keep_sites_out(qgis_app):
    # 600 m apart is too close for a 1 km separation: the best pair S1 + S2 (1 km apart) is still allowed, M is not with either.
    result = select(METHOD=1, MIN_SEPARATION=1000)
    assert sorted(name for name, _, _ in picked(result)) == ["S1", "S2"]
    excluded = make_layer("Polygon", [], [(square(-600, -100, -400, 100),)])
    log = Log()
    result = select(METHOD=1, EXCLUDED=excluded, feedback=log)
    assert sorted(name for name, _, _ in picked(result)) == ["M", "S2"]
    assert log.said("1 candidate sites break a constraint")
    existing = make_layer("Point", ["chargepoint_id:string"], [(at(0, 100), "near M")])
    result = select(METHOD=1, EXISTING=existing, MIN_SPACING=150)
    assert "M" not in [name for name, _, _ in picked(result)]


# -- bad input ----------------------------------------------------------------------------------------

def test_an_empty_candidate_layer_is_refused_in_words(qgis_app):
    empty = make_layer("Point", ["name:string"], [])
    with pytest.raises(QgsProcessingException, match="candidate layer has no features"):
        score(candidates=empty)
    with pytest.raises(QgsProcessingException, match="candidate layer has no features"):
        select(candidates=empty)


def test_candidates_outside_the_demand_area_score_nothing_and_are_never_chosen(qgis_app):
    far = make_layer("Point", ["name:string"], [(at(20000, 0), "far 1"), (at(20000, 2000), "far 2")])
    log = Log()
    scored = rows(score(candidates=far, feedback=log)["OUTPUT"])
    assert all(feature["score"] == 0 and feature["rank"] == 1 for feature in scored.values())
    assert log.said("2 of 2 candidate sites have no demand within 400 m")
    log = Log()
    result = select(candidates=far, feedback=log)
    assert result["OUTPUT"].featureCount() == 0 and result["SITES"] == 0
    assert result["COVERED_DEMAND"] == 0 and result["SHARE"] == 0
    assert log.said("0 sites were chosen, not 2")


def test_invalid_geometries_are_repaired_or_reported_by_feature_number(qgis_app):
    bowtie = shape([(0, 0), (200, 200), (200, 0), (0, 200), (0, 0)])
    candidates = make_layer("Polygon", ["name:string"], [(square(-100, -100, 100, 100), "fine"), (bowtie, "bowtie"), (None, "nowhere")])
    demand = make_layer("Point", ["households:integer"], [(at(50, 50), 10)])
    log = Log()
    result = score(candidates, demand, feedback=log, REPORT="TEMPORARY_OUTPUT")
    assert sorted(rows(result["OUTPUT"])) == ["bowtie", "fine"]
    assert result["SCORED"] == 2 and result["LEFT_OUT"] == 1
    assert log.said("Feature 2 (repaired): The candidate feature had an invalid geometry")
    assert log.said("Feature 3 (left out): The candidate feature has no geometry")
    report = [(f["record"], f["severity"]) for f in result["REPORT"].getFeatures()]
    assert report == [(2, "repaired"), (3, "rejected")]
    # The same in choosing sites; an invalid demand polygon is repaired too.
    demand = make_layer("Polygon", ["households:integer"], [(bowtie, 10)])
    log = Log()
    result = select(candidates, demand, feedback=log, COUNT=1)
    assert result["SITES"] == 1 and result["COVERED_DEMAND"] == pytest.approx(10)
    assert log.said("The demand feature had an invalid geometry")


@pytest.mark.parametrize("radius", [0, -100])
def test_a_radius_of_zero_or_less_is_refused_in_words(qgis_app, radius):
    with pytest.raises(QgsProcessingException, match="walking distance must be a positive number of metres"):
        score(RADIUS=radius)
    with pytest.raises(QgsProcessingException, match="walking distance must be a positive number of metres"):
        select(RADIUS=radius)


def test_more_sites_than_candidates_chooses_every_useful_site(qgis_app):
    log = Log()
    result = select(COUNT=10, METHOD=1, feedback=log)
    assert sorted(name for name, _, _ in picked(result)) == ["M", "S1", "S2"]
    assert result["COVERED_DEMAND"] == pytest.approx(41) and result["SHARE"] == pytest.approx(1.0)
    assert log.said("3 sites were chosen, not 10")
    with pytest.raises(QgsProcessingException, match="number of sites must be 0"):
        select(COUNT=-1)
    with pytest.raises(QgsProcessingException, match="number of sites to choose, or a budget"):
        select(COUNT=0)


def test_a_demand_field_that_is_not_numeric_is_refused_in_words(qgis_app):
    demand = make_layer("Point", ["households:string"], [(at(100, 0), "12"), (at(2100, 0), "many")])
    with pytest.raises(QgsProcessingException, match='households of the demand layer is not numeric: it holds "many"'):
        score(demand=demand)
    with pytest.raises(QgsProcessingException, match="not numeric"):
        select(demand=demand)
    with pytest.raises(QgsProcessingException, match="demand layer has no field called residents"):
        score(DEMAND_FIELD="residents")
    # Numbers stored as text are numbers.
    text_numbers = make_layer("Point", ["households:string"], [(at(100, 0), "12"), (at(2100, 0), " 8 ")])
    scored = rows(score(demand=text_numbers)["OUTPUT"])
    assert scored["C1"]["new_demand"] == 12


def test_mixed_coordinate_systems_give_the_same_answer_with_a_warning(qgis_app):
    candidates, demand, chargepoints = score_layers()
    expected = {name: (f["new_demand"], f["served_demand"], f["rank"]) for name, f in rows(score()["OUTPUT"]).items()}
    log = Log()
    output = score(to_wgs84(candidates), demand, to_wgs84(chargepoints), feedback=log)["OUTPUT"]
    assert output.crs().authid() == "EPSG:27700"
    scored = rows(output)
    assert {name: (f["new_demand"], f["served_demand"], f["rank"]) for name, f in scored.items()} == expected
    # Back in metres, within a few metres of where they were drawn (datum shift without a grid).
    point = scored["C2"].geometry().asPoint()
    assert math.hypot(point.x() - ORIGIN[0] - 2000, point.y() - ORIGIN[1]) < 5
    assert log.said("The candidate layer is in EPSG:4326, a geographic coordinate reference system")
    assert log.said("The charge point layer is in EPSG:4326")
    # A projected CRS other than the national grid is transformed without a fuss.
    log = Log()
    web = QgsVectorLayer("Point?crs=EPSG:3857&field=households:integer", "web", "memory")
    transform = QgsCoordinateTransform(demand.crs(), web.crs(), QgsProject.instance())
    features = []
    for feature in demand.getFeatures():
        geometry = QgsGeometry(feature.geometry())
        geometry.transform(transform)
        copy = QgsFeature(web.fields())
        copy.setAttributes([feature["households"]])
        copy.setGeometry(geometry)
        features.append(copy)
    web.dataProvider().addFeatures(features)
    picked_web = picked(select(score_layers()[0], web, feedback=log, COUNT=1))
    assert picked_web == [("C1", 1, 100.0)] and not log.said("geographic")
    # A layer that has no coordinate reference system cannot be placed.
    unplaced = make_layer("Point", ["name:string"], [(at(0, 0), "C1")])
    unplaced.setCrs(QgsCoordinateReferenceSystem())
    with pytest.raises(QgsProcessingException, match="candidate layer has no coordinate reference system"):
        score(candidates=unplaced)


def test_missing_archive_and_backwards_period_are_refused(qgis_app, tmp_path):
    with pytest.raises(QgsProcessingException, match="does not exist"):
        score(ARCHIVE=str(tmp_path / "nowhere.gpkg"))
    with pytest.raises(QgsProcessingException, match="minimum distance"):
        select(MIN_SEPARATION=-1)


# -- the demo data, end to end -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(demo_files):
    """The demo GeoPackage's layers and a history archive holding its four quarters of usage."""
    gpkg, archive = demo_files
    layers = demo_layers(gpkg, "charge_points", "wards")
    yield layers, archive
    layers.clear()


def test_demo_wards_scored_as_candidates_with_pressure_from_the_archive(demo):
    layers, archive = demo
    log = Log()
    result = run("scorecandidates", log, CANDIDATES=layers["wards"], CHARGEPOINTS=layers["charge_points"], DEMAND=layers["wards"],
                 DEMAND_FIELD="households_no_offstreet", RADIUS=400, ARCHIVE=str(archive), PERIOD_START="2024-07-01", PERIOD_END="2024-10-01")
    output = result["OUTPUT"]
    features = list(output.getFeatures())
    assert len(features) == layers["wards"].featureCount() == result["SCORED"]
    assert log.said("charge points have an occupancy figure for Q3 2024")
    best = max(features, key=lambda f: f["score"])
    assert best["rank"] == 1 and min(f["rank"] for f in features) == 1
    assert all(f["rank"] <= len(features) for f in features)
    assert any(f["pressure"] > 0 for f in features) and all(0 <= f["pressure"] <= 100 for f in features)
    assert all(f["new_demand"] >= 0 and f["served_demand"] >= 0 for f in features)
    # Each ward's point on surface lies in the ward; a catchment never holds more than the whole layer's demand.
    wards = {f["ward_code"]: f.geometry() for f in layers["wards"].getFeatures()}
    assert all(wards[f["ward_code"]].contains(f.geometry()) for f in features[:50])
    total = sum(f["households_no_offstreet"] for f in layers["wards"].getFeatures())
    assert max(f["new_demand"] + f["served_demand"] for f in features) <= total


def test_demo_best_sites_greedy_and_exact_with_existing_charge_points(demo):
    layers, _ = demo
    common = {"CANDIDATES": layers["wards"], "DEMAND": layers["wards"], "DEMAND_FIELD": "households_no_offstreet", "RADIUS": 400,
              "COUNT": 10, "EXISTING": layers["charge_points"], "SUMMARY": "TEMPORARY_OUTPUT"}
    greedy = run("selectsites", METHOD=0, **common)
    exact = run("selectsites", METHOD=1, TIME_LIMIT=30, **common)
    for result in (greedy, exact):
        summary = next(result["SUMMARY"].getFeatures())
        assert 0 < result["COVERED_DEMAND"] <= summary["unserved_demand"] <= summary["total_demand"]
        assert 0 < summary["share_of_unserved_pct"] <= 100 and 0 < result["SHARE"] <= 1
        assert result["GAP"] is not None and 0 <= result["GAP"] < 1
        chosen = sorted(result["OUTPUT"].getFeatures(), key=lambda f: f["order"])
        assert [f["order"] for f in chosen] == list(range(1, len(chosen) + 1)) and len(chosen) == 10
        added = [f["added_demand"] for f in chosen]
        assert added == sorted(added, reverse=True) and sum(added) == pytest.approx(result["COVERED_DEMAND"])
        assert chosen[-1]["cumulative_demand"] == pytest.approx(result["COVERED_DEMAND"])
        # At least the default 200 m apart.
        points = [f.geometry().asPoint() for f in chosen]
        assert min(a.distance(b) for i, a in enumerate(points) for b in points[i + 1:]) >= 200
    assert exact["COVERED_DEMAND"] >= greedy["COVERED_DEMAND"] - 1e-6
    assert exact["STATUS"] in ("optimal", "time limit: best solution found", "time limit: greedy answer")
