"""evcharge:scorecandidates and evcharge:selectsites - where the next charge points should go.

Both run the chain of ``core/siting.py`` (prepare, coverage, score or choose) on
the layers given; everything is worked in British National Grid (EPSG:27700).
The layers are read here feature by feature, none skipped and invalid geometries
included, so that the core can report each feature it repairs or leaves out by
its number in the layer.
"""

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingFeatureSource,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)

from .base import EvChargeAlgorithm, gc_paused

# Enumeration values, in the order the parameters offer them.
CANDIDATE_POINTS = ("point_on_surface", "centroid")
DEMAND_METHODS = ("area", "centroid")
METHODS = ("greedy", "exact")
DEFAULT_DEMAND_FIELD = "households_no_offstreet"
DEFAULT_UTILISATION_FIELD = "occupancy_pct"
# The summary table's columns: a figure that does not apply (no budget, no bound) is an empty number, not text.
SUMMARY_TYPES = {"method": "string", "status": "string", "covered_demand": "float64", "total_demand": "float64", "unserved_demand": "float64",
                 "share_of_unserved_pct": "float64", "gap_pct": "float64", "bound": "float64", "sites": "int64", "requested_sites": "Int64",
                 "budget": "float64", "cost": "float64", "radius_m": "float64", "seconds": "float64"}
# Problems listed one by one in the log; the rest are counted (and all are in the REPORT output).
REPORT_LINES = 20


def _shape(geometry):
    """A QgsGeometry as a shapely geometry (2D, curves segmentised); None when it has none or cannot be read."""
    from shapely import wkb

    if geometry.isNull() or geometry.isEmpty():
        return None
    shape = geometry.constGet().clone()
    if QgsWkbTypes.isCurvedType(shape.wkbType()):
        shape = shape.segmentize()
    shape.dropZValue()
    shape.dropMValue()
    try:
        return wkb.loads(bytes(shape.asWkb()))
    except Exception:  # shapely raises several kinds for bytes it cannot parse; the core reports the feature as without geometry
        return None


def _crs(crs):
    """What geopandas takes for a QGIS CRS: its EPSG code where it has one, else its WKT; None when the layer has none."""
    if not crs.isValid():
        return None
    if crs.authid().upper().startswith("EPSG:"):
        return crs.authid()
    return crs.toWkt(QgsCoordinateReferenceSystem.WKT_PREFERRED)


def read_layer(source, fields=(), keep_features=False):
    """``(frame, features)``: every feature of ``source`` in its order, none skipped.

    ``frame`` is a GeoDataFrame in the source's CRS, indexed by feature position
    (from 0), with the attributes ``fields`` (a field the layer lacks is left out,
    for the core to name in its message) and a missing geometry as None.
    Processing's invalid geometry check is skipped: the core repairs or reports them.
    ``features`` holds the features themselves with ``keep_features``, else nothing.
    """
    import geopandas as gpd
    import pandas as pd

    from ..qgis_io.layers import attribute_value

    names = source.fields()
    indices = {field: names.lookupField(field) for field in dict.fromkeys(fields) if field}
    indices = {field: index for field, index in indices.items() if index >= 0}
    rows, shapes, features = [], [], []
    request = QgsFeatureRequest()
    if isinstance(source, QgsProcessingFeatureSource):
        iterator = source.getFeatures(request, QgsProcessingFeatureSource.FlagSkipGeometryValidityChecks)
    else:
        iterator = source.getFeatures(request)
    with gc_paused():
        for feature in iterator:
            shapes.append(_shape(feature.geometry()))
            attributes = feature.attributes()
            rows.append([attribute_value(attributes[index]) for index in indices.values()])
            if keep_features:
                features.append(feature)
    frame = pd.DataFrame(rows, columns=list(indices))
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(shapes, index=frame.index, dtype="geometry"), crs=_crs(source.sourceCrs())), features


def _styled(style, name: str, abstract: str):
    """What a loaded siting layer gets: its style, a name that says what it is, and its inputs in the metadata."""
    def apply(layer):
        from ..qgis_io.layers import set_layer_metadata

        style(layer)
        layer.setName(name)
        set_layer_metadata(layer, name, abstract)
    return apply


class SitingAlgorithm(EvChargeAlgorithm):
    """What both siting algorithms share: the candidate and demand inputs, reading, reporting, writing."""

    CANDIDATES = "CANDIDATES"
    DEMAND = "DEMAND"
    DEMAND_FIELD = "DEMAND_FIELD"
    RADIUS = "RADIUS"
    DEMAND_METHOD = "DEMAND_METHOD"
    CANDIDATE_POINT = "CANDIDATE_POINT"
    EXCLUDED = "EXCLUDED"
    MIN_SPACING = "MIN_SPACING"
    OUTPUT = "OUTPUT"
    REPORT = "REPORT"

    def group(self):
        return self.tr("Siting")

    def groupId(self):
        return "siting"

    def _common_help(self):
        return self.tr(
            "<b>Candidate sites</b>: points, or polygons (a car park, a street) that stand at their <i>point on "
            "surface</i> (always on the shape drawn, even an L-shaped car park whose centroid falls in the street) "
            "or, if chosen, their centroid. <b>Demand</b>: points or polygons with a <b>demand field</b> (by default "
            "households without off-street parking, as the demo wards carry); polygon demand is apportioned <i>by "
            "area</i> (shared among grid points a quarter of the walking distance apart, so a catchment gets a "
            "polygon's demand in proportion to the area it reaches) or put at each polygon's centroid. "
            "<b>Walking distance</b>: the catchment radius in metres, a straight line (400 m is about five minutes' walk).\n\n"
            "Everything is worked in British National Grid (EPSG:27700): layers in other coordinate systems are "
            "transformed, with a warning for geographic ones (degrees). Features without a usable geometry or demand "
            "are left out, invalid polygons repaired, and each is listed in the log with its feature number (from 1) "
            "and in the optional <b>Report</b> table."
        )

    def _add_inputs(self):
        from ..core.choices import DEFAULT_RADIUS_M

        self.addParameter(QgsProcessingParameterFeatureSource(self.CANDIDATES, self.tr("Candidate sites"),
                                                              [QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterFeatureSource(self.DEMAND, self.tr("Demand (points or areas)"),
                                                              [QgsProcessing.TypeVectorPoint, QgsProcessing.TypeVectorPolygon]))
        # Optional only so that QGIS 3.22 accepts the default when a caller leaves it out.
        self.addParameter(QgsProcessingParameterField(self.DEMAND_FIELD, self.tr("Demand field"), defaultValue=DEFAULT_DEMAND_FIELD,
                                                      parentLayerParameterName=self.DEMAND, optional=True))
        # No minimum here: the core says in words why a radius of 0 or less cannot be used.
        self.addParameter(QgsProcessingParameterNumber(self.RADIUS, self.tr("Walking distance (m)"), QgsProcessingParameterNumber.Double,
                                                       defaultValue=DEFAULT_RADIUS_M))

    def _add_options(self):
        self.addParameter(QgsProcessingParameterEnum(self.CANDIDATE_POINT, self.tr("A candidate drawn as a polygon stands at its"),
                                                     [self.tr("Point on surface"), self.tr("Centroid")], defaultValue=0))
        self.addParameter(QgsProcessingParameterEnum(self.DEMAND_METHOD, self.tr("Polygon demand is apportioned"),
                                                     [self.tr("By area"), self.tr("At the centroid")], defaultValue=0))
        self.addParameter(QgsProcessingParameterFeatureSource(self.EXCLUDED, self.tr("Excluded areas"), [QgsProcessing.TypeVectorPolygon],
                                                              optional=True))

    def _add_report(self):
        self.addParameter(QgsProcessingParameterFeatureSink(self.REPORT, self.tr("Report (features left out or repaired)"),
                                                            QgsProcessing.TypeVector, optional=True, createByDefault=False))

    def processAlgorithm(self, parameters, context, feedback):
        from ..core.errors import CancelledError, EvChargeError

        try:
            return self.run_siting(parameters, context, feedback)
        except CancelledError as error:
            feedback.pushInfo(str(error))
            return {}
        except EvChargeError as error:
            raise QgsProcessingException(str(error)) from error

    def run_siting(self, parameters, context, feedback):
        raise NotImplementedError

    # -- reading -------------------------------------------------------------------

    def _source(self, parameters, name, context, what, optional=False):
        source = self.parameterAsSource(parameters, name, context)
        if source is None and not optional:
            raise QgsProcessingException(self.tr("Choose the {what} layer.").format(what=what))
        return source

    def _inputs(self, parameters, context):
        """The settings every siting run reads: demand field, radius, demand method, candidate point."""
        return {
            "weight_field": self.parameterAsString(parameters, self.DEMAND_FIELD, context) or DEFAULT_DEMAND_FIELD,
            "radius_m": self.parameterAsDouble(parameters, self.RADIUS, context),
            "demand_method": DEMAND_METHODS[self.parameterAsEnum(parameters, self.DEMAND_METHOD, context)],
            "candidate_point": CANDIDATE_POINTS[self.parameterAsEnum(parameters, self.CANDIDATE_POINT, context)],
        }

    def _excluded(self, parameters, context):
        source = self._source(parameters, self.EXCLUDED, context, "", optional=True)
        return read_layer(source)[0] if source is not None else None

    def _min_spacing(self, parameters, name, context):
        value = self.parameterAsDouble(parameters, name, context)
        if value != value or value < 0:
            raise QgsProcessingException(self.tr("A minimum distance must be 0 (none) or more metres; {value} was given.").format(value=value))
        return value

    # -- reporting -----------------------------------------------------------------

    def _tell(self, data, feedback, parameters, context):
        """The core's warnings and every feature it left out or repaired, in the log; the report table if asked for."""
        from ..core.report import REJECTED

        for message in data.messages:
            feedback.pushWarning(message)
        problems = data.report.problems
        for problem in problems[:REPORT_LINES]:
            what = self.tr("left out") if problem.severity == REJECTED else problem.severity
            feedback.pushWarning(self.tr("Feature {record} ({what}): {reason}").format(record=problem.record, what=what, reason=problem.reason))
        if len(problems) > REPORT_LINES:
            feedback.pushWarning(self.tr("... and {count:,} more features left out or repaired: see the report.").format(count=len(problems) - REPORT_LINES))
        if parameters.get(self.REPORT):
            from ..qgis_io.layers import crs

            return self.write_frame_to_sink(data.report.to_frame(), parameters, self.REPORT, context, feedback, QgsWkbTypes.NoGeometry, crs(27700))
        return None

    # -- writing -------------------------------------------------------------------

    def _write_points(self, parameters, context, source, features, positions, xy, extra, feedback):
        """The candidate features at ``positions`` as points at ``xy`` (EPSG:27700): their own attributes, then ``extra``'s columns.

        A candidate field named like one of ``extra``'s (say, a layer scored before) is replaced, with a warning.
        """
        from ..core.schema import BNG_EPSG
        from ..qgis_io.layers import attribute_value, crs, fields_for, python_rows

        extra_fields = fields_for(extra)
        taken = {name.lower() for name in extra.columns}
        own = source.fields()
        kept = [index for index, field in enumerate(own) if field.name().lower() not in taken]
        if len(kept) < len(own):
            feedback.pushWarning(self.tr("The candidate layer's fields named like output fields ({names}) are replaced by the output.").format(
                names=", ".join(own.at(index).name() for index in range(len(own)) if index not in kept)))
        fields = QgsFields()
        for index in kept:
            fields.append(QgsField(own.at(index)))
        for field in extra_fields:
            fields.append(field)
        sink, dest = self.parameterAsSink(parameters, self.OUTPUT, context, fields, QgsWkbTypes.Point, crs(BNG_EPSG))
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        written = []
        for position, (x, y), row in zip(positions, xy, python_rows(extra)):
            attributes = features[position].attributes()
            feature = QgsFeature(fields)
            feature.setAttributes([attribute_value(attributes[index]) for index in kept] + row)
            feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(float(x), float(y))))
            written.append(feature)
        if not sink.addFeatures(written, QgsFeatureSink.FastInsert):
            raise QgsProcessingException(self.tr("Could not write features to {name}: {error}").format(name=self.OUTPUT, error=sink.lastError()))
        return dest


class ScoreCandidatesAlgorithm(SitingAlgorithm):
    CHARGEPOINTS = "CHARGEPOINTS"
    UTILISATION_FIELD = "UTILISATION_FIELD"
    ARCHIVE = "ARCHIVE"
    PERIOD_START = "PERIOD_START"
    PERIOD_END = "PERIOD_END"
    WEIGHT_NEW_DEMAND = "WEIGHT_NEW_DEMAND"
    WEIGHT_SERVED_DEMAND = "WEIGHT_SERVED_DEMAND"
    WEIGHT_PRESSURE = "WEIGHT_PRESSURE"
    WEIGHT_CONSTRAINTS = "WEIGHT_CONSTRAINTS"
    # weight parameter -> ScoreWeights attribute
    WEIGHTS = {WEIGHT_NEW_DEMAND: "new_demand", WEIGHT_SERVED_DEMAND: "served_demand", WEIGHT_PRESSURE: "pressure",
               WEIGHT_CONSTRAINTS: "constraints_broken"}

    def name(self):
        return "scorecandidates"

    def displayName(self):
        return self.tr("Score candidate sites")

    def shortHelpString(self):
        return self.tr(
            "Scores every candidate site for a new charge point and ranks them (rank 1 is the best; equal scores share "
            "a rank). One field per part of the score:<ul>"
            "<li><b>new_demand</b>: demand within the walking distance that no existing charge point has within it;</li>"
            "<li><b>served_demand</b>: demand within the walking distance that an existing charge point already serves;</li>"
            "<li><b>pressure</b>: the mean utilisation of the existing charge points within the walking distance (busy "
            "charge points nearby call for more); charge points without a figure are left out, 0 when there are none;</li>"
            "<li><b>constraints_broken</b>: how many constraints the site breaks (inside an <b>excluded area</b>; nearer "
            "an existing charge point than the <b>minimum spacing</b>), said in words in <b>constraints</b>.</li></ul>"
            "<b>score</b> adds each part times its <b>weight</b>, the demand parts divided by the most demand any "
            "candidate's catchment holds and pressure by the highest pressure, so each lies in 0..1; broken constraints "
            "count as they are. With the default weights a site that breaks a constraint always ranks below every site "
            "that breaks none. The weights are written into the <b>weights</b> field and, with the walking distance and "
            "the scales, into the layer's metadata.\n\n"
            "<b>Utilisation</b> (for pressure): the <b>utilisation field</b> of the charge points if given (else "
            "occupancy_pct when the layer has it), or occupancy % from the <b>history archive</b> for the periods wholly "
            "inside <b>Period start</b> to <b>Period end</b> (exclusive; empty means every archived period), matched by "
            "chargepoint_id.\n\n{common}\n\n"
            "The output holds the usable candidates as points where they stand, with their own fields, styled by rank."
        ).format(common=self._common_help())

    def initAlgorithm(self, config=None):
        from ..core.choices import ScoreWeights

        self._add_inputs()
        self.addParameter(QgsProcessingParameterFeatureSource(self.CHARGEPOINTS, self.tr("Existing charge points"), [QgsProcessing.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterField(self.UTILISATION_FIELD, self.tr("Utilisation field (empty: occupancy_pct if present)"),
                                                      parentLayerParameterName=self.CHARGEPOINTS, optional=True))
        self.addParameter(QgsProcessingParameterFile(self.ARCHIVE, self.tr("History archive (GeoPackage) for utilisation"), extension="gpkg", optional=True))
        self.addParameter(QgsProcessingParameterDateTime(self.PERIOD_START, self.tr("Period start"), QgsProcessingParameterDateTime.Date, optional=True))
        self.addParameter(QgsProcessingParameterDateTime(self.PERIOD_END, self.tr("Period end (exclusive)"), QgsProcessingParameterDateTime.Date, optional=True))
        self._add_options()
        self.addParameter(QgsProcessingParameterNumber(self.MIN_SPACING, self.tr("Minimum spacing from existing charge points (m, 0: none)"),
                                                       QgsProcessingParameterNumber.Double, defaultValue=0.0))
        defaults = ScoreWeights()
        labels = {self.WEIGHT_NEW_DEMAND: self.tr("Weight of new demand"), self.WEIGHT_SERVED_DEMAND: self.tr("Weight of demand already served"),
                  self.WEIGHT_PRESSURE: self.tr("Weight of pressure (utilisation nearby)"),
                  self.WEIGHT_CONSTRAINTS: self.tr("Weight of each broken constraint")}
        for name, part in self.WEIGHTS.items():
            self.addParameter(QgsProcessingParameterNumber(name, labels[name], QgsProcessingParameterNumber.Double, defaultValue=getattr(defaults, part)))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Candidate scores"), QgsProcessing.TypeVectorPoint))
        self._add_report()
        self.addOutput(QgsProcessingOutputNumber("SCORED", self.tr("Candidate sites scored")))
        self.addOutput(QgsProcessingOutputNumber("LEFT_OUT", self.tr("Candidate sites left out (no usable geometry)")))
        self.addOutput(QgsProcessingOutputString("WEIGHTS", self.tr("Weights used")))

    def _utilisation(self, parameters, context, feedback, chargepoints, field):
        """``(utilisation, described)``: a field name or a Series on the charge points' index (or None), and how it was found."""
        archive = self.parameterAsFile(parameters, self.ARCHIVE, context)
        if field:
            if archive:
                feedback.pushWarning(self.tr("A utilisation field was given, so the history archive is not used."))
            return field, self.tr("the charge points' field {field}").format(field=field)
        if archive:
            return self._archive_utilisation(parameters, context, feedback, chargepoints, archive)
        if DEFAULT_UTILISATION_FIELD in chargepoints:
            return DEFAULT_UTILISATION_FIELD, self.tr("the charge points' field {field}").format(field=DEFAULT_UTILISATION_FIELD)
        feedback.pushInfo(self.tr("No utilisation field and no history archive: pressure is 0 for every candidate."))
        return None, self.tr("none (pressure is 0)")

    def _archive_utilisation(self, parameters, context, feedback, chargepoints, path):
        import pandas as pd

        from ..core.usage import period_label
        from ..core.utilisation import utilisation

        if "chargepoint_id" not in chargepoints:
            raise QgsProcessingException(self.tr("The charge point layer has no chargepoint_id field, so its usage cannot be found in the archive."))
        start, end = self.chosen_period(parameters, context)
        registered, usage = self.read_archive(path)
        registered = registered[["chargepoint_id", "power_kw"]]
        if usage.empty:
            feedback.pushWarning(self.tr("The history archive holds no usage yet: pressure is 0 for every candidate."))
            return None, self.tr("none (the archive holds no usage)")
        start, end = self.archived_range(usage, start, end)
        registered = registered.drop_duplicates("chargepoint_id")
        figures = utilisation(usage, registered, start, end).set_index("chargepoint_id")["occupancy_pct"]
        values = pd.to_numeric(chargepoints["chargepoint_id"].astype("string").map(figures), errors="coerce")
        label = period_label(start, end)
        known = int(values.notna().sum())
        if not known:
            feedback.pushWarning(self.tr("No charge point of the layer has usage in the archive for {period}: pressure is 0 for every candidate.").format(
                period=label))
        else:
            feedback.pushInfo(self.tr("{known:,} of {count:,} charge points have an occupancy figure for {period}.").format(
                known=known, count=len(values), period=label))
        return values, self.tr("occupancy % from the history archive, {period}").format(period=label)

    def run_siting(self, parameters, context, feedback):
        from ..core.siting import ScoreWeights, coverage, prepare, score_candidates

        inputs = self._inputs(parameters, context)
        candidate_source = self._source(parameters, self.CANDIDATES, context, self.tr("candidate sites"))
        demand_source = self._source(parameters, self.DEMAND, context, self.tr("demand"))
        chargepoint_source = self._source(parameters, self.CHARGEPOINTS, context, self.tr("existing charge points"))
        field = self.parameterAsString(parameters, self.UTILISATION_FIELD, context)
        min_spacing = self._min_spacing(parameters, self.MIN_SPACING, context)
        weights = ScoreWeights(**{part: self.parameterAsDouble(parameters, name, context) for name, part in self.WEIGHTS.items()})

        feedback.setProgressText(self.tr("Reading the layers"))
        candidates, features = read_layer(candidate_source, keep_features=True)
        demand = read_layer(demand_source, [inputs["weight_field"]])[0]
        chargepoints = read_layer(chargepoint_source, ["chargepoint_id", field or DEFAULT_UTILISATION_FIELD])[0]
        excluded = self._excluded(parameters, context)
        if feedback.isCanceled():
            return {}
        utilisation, described = self._utilisation(parameters, context, feedback, chargepoints, field)
        feedback.setProgress(20)

        feedback.setProgressText(self.tr("Preparing the candidates and the demand"))
        data = prepare(candidates, demand, inputs["weight_field"], chargepoints, utilisation, excluded, radius_m=inputs["radius_m"],
                       demand_method=inputs["demand_method"], candidate_point=inputs["candidate_point"])
        results = {}
        report = self._tell(data, feedback, parameters, context)
        if report is not None:
            results[self.REPORT] = report
        if feedback.isCanceled():
            return {}
        feedback.setProgress(50)

        feedback.setProgressText(self.tr("Scoring the candidates"))
        radius = inputs["radius_m"]
        scores = score_candidates(data.candidate_xy, data.chargepoint_xy, data.utilisation, data.demand_xy, data.demand_weight, radius,
                                  weights, data.excluded, min_spacing, cover=coverage(data.candidate_xy, data.demand_xy, radius))
        feedback.setProgress(80)
        output = self._write_points(parameters, context, candidate_source, features, data.candidates.index, data.candidate_xy, scores, feedback)
        feedback.setProgress(100)

        if context.willLoadLayerOnCompletion(output):
            from ..qgis_io.siting_style import style_scores

            name = self.tr("Candidate scores ({radius:g} m walk)").format(radius=radius)
            self.style_on_load(context, output, _styled(style_scores, name, self._abstract(
                scores, inputs, demand_source, described, excluded, min_spacing, len(data.chargepoint_xy))))
        best = scores.loc[scores["rank"] == 1, "score"]
        feedback.pushInfo(self.tr("{count:,} candidate sites scored; the best scores {best:.3f}. Weights: {weights}.").format(
            count=len(scores), best=float(best.iloc[0]) if len(best) else float("nan"), weights=weights.describe()))
        results.update({self.OUTPUT: output, "SCORED": len(scores), "LEFT_OUT": len(features) - len(scores), "WEIGHTS": weights.describe()})
        return results

    def _abstract(self, scores, inputs, demand_source, described, excluded, min_spacing, chargepoints):
        constraints = []
        if excluded is not None and len(excluded):
            constraints.append(self.tr("outside the excluded areas"))
        if min_spacing > 0:
            constraints.append(self.tr("at least {spacing:g} m from an existing charge point").format(spacing=min_spacing))
        scales = scores.attrs.get("scales", {})
        return self.tr(
            "Scores of {count:,} candidate sites for new charge points; rank 1 is the best.\n\n"
            "Walking distance: {radius:g} m in a straight line, in British National Grid (EPSG:27700).\n"
            "Demand: the field {field} of {demand}, polygons apportioned {method}; candidates drawn as polygons stand at their {point}.\n"
            "Existing charge points: {chargepoints:,}; utilisation: {utilisation}.\n"
            "Constraints: {constraints}.\n"
            "Weights: {weights}. The demand parts are divided by {demand_scale:g} (the most demand any catchment holds) and "
            "pressure by {pressure_scale:g} (the highest pressure) before weighting; broken constraints count as they are."
        ).format(count=len(scores), radius=inputs["radius_m"], field=inputs["weight_field"], demand=demand_source.sourceName(),
                 method=self.tr("by area") if inputs["demand_method"] == "area" else self.tr("at their centroids"),
                 point=self.tr("point on surface") if inputs["candidate_point"] == "point_on_surface" else self.tr("centroid"),
                 chargepoints=chargepoints, utilisation=described, constraints="; ".join(constraints) or self.tr("none"),
                 weights=scores["weights"].iloc[0] if len(scores) else "", demand_scale=scales.get("demand", 1.0),
                 pressure_scale=scales.get("pressure", 1.0))


class SelectSitesAlgorithm(SitingAlgorithm):
    COUNT = "COUNT"
    METHOD = "METHOD"
    BUDGET = "BUDGET"
    COST_FIELD = "COST_FIELD"
    EXISTING = "EXISTING"
    MIN_SEPARATION = "MIN_SEPARATION"
    TIME_LIMIT = "TIME_LIMIT"
    SUMMARY = "SUMMARY"

    def name(self):
        return "selectsites"

    def displayName(self):
        return self.tr("Choose best sites")

    def shortHelpString(self):
        return self.tr(
            "Chooses the set of candidate sites that puts the most demand within walking distance of a charge point "
            "(the maximal covering location problem).\n\n"
            "<b>Number of sites</b>: how many to choose (0: as many as the <b>budget</b> allows). <b>Budget</b> with a "
            "<b>cost field</b>: the chosen sites' costs add up to at most the budget (candidates without a cost are "
            "left out). <b>Method</b>: <i>greedy</i> (fast: the site that adds the most demand, per unit of cost with "
            "a budget, again and again) or <i>exact</i> (the optimum, by mixed-integer programming with HiGHS, within "
            "the <b>time limit</b>; when time runs out, the better of the solver's best and the greedy answer, and "
            "the status says so). <b>Existing charge points</b> count as already open (expansion planning): demand "
            "they serve is not counted again. Two chosen sites are at least the <b>minimum separation</b> apart (0: "
            "no limit). Sites in an <b>excluded area</b>, or nearer an existing charge point than the <b>minimum "
            "spacing</b>, are not chosen. A site that would add no demand is never chosen, so fewer sites than asked "
            "for can come back, with a warning.\n\n{common}\n\n"
            "The output holds the chosen sites with their own fields, <b>order</b> (the order picked: each adds the "
            "most of what is left), <b>added_demand</b> (what each adds to those before it), <b>cumulative_demand</b> "
            "and <b>cumulative_share</b> (of the demand no open charge point serves, 0..1). The optional <b>Summary</b> "
            "table has the demand covered, the share of unserved demand, the solver status and the <b>gap</b>: "
            "(bound - covered) / bound, so the answer covers at least 1 - gap of the best possible."
        ).format(common=self._common_help())

    def initAlgorithm(self, config=None):
        from ..core.choices import DEFAULT_MIN_SEPARATION_M, DEFAULT_TIME_LIMIT_S

        self._add_inputs()
        self.addParameter(QgsProcessingParameterNumber(self.COUNT, self.tr("Number of sites (0: as many as the budget allows)"),
                                                       QgsProcessingParameterNumber.Integer, defaultValue=5))
        self.addParameter(QgsProcessingParameterEnum(self.METHOD, self.tr("Method"), [self.tr("Greedy (fast)"), self.tr("Exact (HiGHS, with a time limit)")],
                                                     defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(self.BUDGET, self.tr("Budget"), QgsProcessingParameterNumber.Double, optional=True))
        self.addParameter(QgsProcessingParameterField(self.COST_FIELD, self.tr("Cost field (with a budget)"), parentLayerParameterName=self.CANDIDATES,
                                                      type=QgsProcessingParameterField.Any, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(self.EXISTING, self.tr("Existing charge points (already open)"),
                                                              [QgsProcessing.TypeVectorPoint], optional=True))
        self.addParameter(QgsProcessingParameterNumber(self.MIN_SEPARATION, self.tr("Minimum separation between chosen sites (m, 0: none)"),
                                                       QgsProcessingParameterNumber.Double, defaultValue=DEFAULT_MIN_SEPARATION_M))
        self.addParameter(QgsProcessingParameterNumber(self.TIME_LIMIT, self.tr("Time limit of the exact method (s)"), QgsProcessingParameterNumber.Double,
                                                       defaultValue=DEFAULT_TIME_LIMIT_S))
        self._add_options()
        self.addParameter(QgsProcessingParameterNumber(self.MIN_SPACING, self.tr("Minimum spacing from existing charge points (m, 0: none)"),
                                                       QgsProcessingParameterNumber.Double, defaultValue=0.0))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Chosen sites"), QgsProcessing.TypeVectorPoint))
        self.addParameter(QgsProcessingParameterFeatureSink(self.SUMMARY, self.tr("Summary"), QgsProcessing.TypeVector, optional=True,
                                                            createByDefault=False))
        self._add_report()
        self.addOutput(QgsProcessingOutputNumber("COVERED_DEMAND", self.tr("Demand newly covered")))
        self.addOutput(QgsProcessingOutputNumber("GAP", self.tr("Optimality gap (relative: (bound - covered) / bound)")))
        self.addOutput(QgsProcessingOutputString("STATUS", self.tr("Solver status")))
        self.addOutput(QgsProcessingOutputNumber("SHARE", self.tr("Share of unserved demand covered (0..1)")))
        self.addOutput(QgsProcessingOutputNumber("SITES", self.tr("Sites chosen")))

    def _budget(self, parameters, context):
        """The budget, or None when none was given."""
        value = parameters.get(self.BUDGET)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return self.parameterAsDouble(parameters, self.BUDGET, context)

    def run_siting(self, parameters, context, feedback):
        import numpy as np
        import pandas as pd

        from ..core.siting import TIME_LIMIT_BEST, TIME_LIMIT_GREEDY, broken_constraints, coverage, prepare, select_sites

        inputs = self._inputs(parameters, context)
        candidate_source = self._source(parameters, self.CANDIDATES, context, self.tr("candidate sites"))
        demand_source = self._source(parameters, self.DEMAND, context, self.tr("demand"))
        existing_source = self._source(parameters, self.EXISTING, context, "", optional=True)
        count = self.parameterAsInt(parameters, self.COUNT, context)
        budget = self._budget(parameters, context)
        cost_field = self.parameterAsString(parameters, self.COST_FIELD, context) or None
        method = METHODS[self.parameterAsEnum(parameters, self.METHOD, context)]
        separation = self._min_spacing(parameters, self.MIN_SEPARATION, context)
        min_spacing = self._min_spacing(parameters, self.MIN_SPACING, context)
        time_limit = self.parameterAsDouble(parameters, self.TIME_LIMIT, context)
        if count < 0:
            raise QgsProcessingException(self.tr("The number of sites must be 0 (as many as the budget allows) or more; {count} was given.").format(count=count))
        if cost_field and budget is None:
            feedback.pushInfo(self.tr("A cost field without a budget: the costs are not used."))
        if min_spacing > 0 and existing_source is None:
            feedback.pushWarning(self.tr("A minimum spacing from existing charge points needs the existing charge points layer: it is not used."))

        feedback.setProgressText(self.tr("Reading the layers"))
        candidates, features = read_layer(candidate_source, [cost_field] if budget is not None and cost_field else [], keep_features=True)
        demand = read_layer(demand_source, [inputs["weight_field"]])[0]
        existing = read_layer(existing_source)[0] if existing_source is not None else None
        excluded = self._excluded(parameters, context)
        if feedback.isCanceled():
            return {}
        feedback.setProgress(10)

        feedback.setProgressText(self.tr("Preparing the candidates and the demand"))
        data = prepare(candidates, demand, inputs["weight_field"], existing, None, excluded, radius_m=inputs["radius_m"],
                       cost_field=cost_field if budget is not None else None, demand_method=inputs["demand_method"],
                       candidate_point=inputs["candidate_point"])
        results = {}
        report = self._tell(data, feedback, parameters, context)
        if report is not None:
            results[self.REPORT] = report
        allowed = None
        if (data.excluded is not None and len(data.excluded)) or (min_spacing > 0 and len(data.chargepoint_xy)):
            broken, _ = broken_constraints(data.candidate_xy, data.chargepoint_xy, data.excluded, min_spacing)
            allowed = broken == 0
            if not allowed.all():
                feedback.pushInfo(self.tr("{count:,} candidate sites break a constraint (excluded area, spacing) and are not chosen.").format(
                    count=int((~allowed).sum())))
        if feedback.isCanceled():
            return {}
        feedback.setProgress(30)

        feedback.setProgressText(self.tr("Choosing sites ({method})").format(method=method))
        cover = coverage(data.candidate_xy, data.demand_xy, inputs["radius_m"])
        selection = select_sites(cover, data.demand_weight, k=count or None, budget=budget, cost=data.cost, method=method, time_limit_s=time_limit,
                                 existing_xy=data.chargepoint_xy, min_separation_m=separation, allowed=allowed,
                                 cancelled=feedback.isCanceled, progress=lambda percent: feedback.setProgress(30 + 0.6 * percent))
        for message in selection.messages:
            feedback.pushWarning(message)
        if selection.status in (TIME_LIMIT_GREEDY, TIME_LIMIT_BEST):
            feedback.pushWarning(self.tr("The exact method reached its time limit of {seconds:g} s: {status}; the gap says how far from the best "
                                         "this answer may be.").format(seconds=time_limit, status=selection.status))

        picked = selection.to_frame()
        chosen = picked.pop("candidate").to_numpy()
        output = self._write_points(parameters, context, candidate_source, features, data.candidates.index[chosen], data.candidate_xy[chosen],
                                    picked, feedback)
        summary = self._summary(selection, inputs, count, budget)
        if parameters.get(self.SUMMARY):
            from ..qgis_io.layers import crs

            table = pd.DataFrame([summary]).astype(SUMMARY_TYPES)
            results[self.SUMMARY] = self.write_frame_to_sink(table, parameters, self.SUMMARY, context, feedback,
                                                             QgsWkbTypes.NoGeometry, crs(27700), (95, 100))
        feedback.setProgress(100)

        if context.willLoadLayerOnCompletion(output):
            from ..qgis_io.siting_style import style_selection

            name = self.tr("Chosen sites ({sites} by {method})").format(sites=len(chosen), method=method)
            self.style_on_load(context, output, _styled(style_selection, name, self._abstract(
                summary, inputs, demand_source, separation, len(data.chargepoint_xy))))
        share = selection.share if np.isfinite(selection.share) else None
        feedback.pushInfo(self.tr("{sites} sites chosen ({status}): they cover {covered:,.1f} of {unserved:,.1f} demand not yet served{share}; "
                                  "gap {gap}.").format(
            sites=len(chosen), status=selection.status, covered=selection.covered, unserved=selection.unserved_demand,
            share=f" ({share:.1%})" if share is not None else "", gap=f"{selection.gap:.2%}" if selection.gap is not None else self.tr("unknown")))
        results.update({self.OUTPUT: output, "COVERED_DEMAND": selection.covered, "GAP": selection.gap, "STATUS": selection.status,
                        "SHARE": share, "SITES": len(chosen)})
        return results

    @staticmethod
    def _summary(selection, inputs, count, budget) -> dict:
        """The summary table's one row."""
        import math

        def percent(value):
            return None if value is None or not math.isfinite(value) else 100.0 * value

        return {
            "method": selection.method, "status": selection.status, "covered_demand": selection.covered,
            "total_demand": selection.total_demand, "unserved_demand": selection.unserved_demand,
            "share_of_unserved_pct": percent(selection.share), "gap_pct": percent(selection.gap), "bound": selection.bound,
            "sites": int(len(selection.chosen)), "requested_sites": count or None, "budget": budget, "cost": selection.cost,
            "radius_m": inputs["radius_m"], "seconds": selection.seconds,
        }

    def _abstract(self, summary, inputs, demand_source, separation, existing):
        def number(value, pattern="{:,.1f}"):
            return self.tr("none") if value is None else pattern.format(value)

        return self.tr(
            "{sites} sites chosen by the {method} method ({status}) to put the most demand within {radius:g} m (a straight line) "
            "of a charge point.\n\n"
            "Demand: the field {field} of {demand}, polygons apportioned {how}; total {total}, of which {unserved} is not yet served by "
            "the {existing:,} existing charge points counted as open.\n"
            "Covered by the chosen sites: {covered} ({share} % of the unserved demand). Gap: {gap} % (upper bound {bound}).\n"
            "Budget: {budget}; cost of the chosen sites: {cost}. Minimum separation between chosen sites: {separation:g} m.\n\n"
            "order: the order the sites were picked in; added_demand: the demand each adds to those before it."
        ).format(sites=summary["sites"], method=summary["method"], status=summary["status"], radius=inputs["radius_m"],
                 field=inputs["weight_field"], demand=demand_source.sourceName(),
                 how=self.tr("by area") if inputs["demand_method"] == "area" else self.tr("at their centroids"),
                 total=number(summary["total_demand"]), unserved=number(summary["unserved_demand"]), existing=existing,
                 covered=number(summary["covered_demand"]), share=number(summary["share_of_unserved_pct"]), gap=number(summary["gap_pct"], "{:.2f}"),
                 bound=number(summary["bound"]), budget=number(summary["budget"]), cost=number(summary["cost"]), separation=separation)
