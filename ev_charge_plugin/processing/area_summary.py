"""evcharge:areasummary - charge points, usage and metrics summed by area (boroughs, wards, LSOAs, zones)."""
import json

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsWkbTypes,
)

from .base import EvChargeAlgorithm, gc_paused


class AreaSummaryAlgorithm(EvChargeAlgorithm):
    POINTS = "POINTS"
    AREAS = "AREAS"
    AREA_NAME_FIELD = "AREA_NAME_FIELD"
    POPULATION_FIELD = "POPULATION_FIELD"
    HOUSEHOLDS_FIELD = "HOUSEHOLDS_FIELD"
    ARCHIVE = "ARCHIVE"
    PERIOD_START = "PERIOD_START"
    PERIOD_END = "PERIOD_END"
    OUTPUT = "OUTPUT"
    POINT_AREAS = "POINT_AREAS"
    TRENDS = "TRENDS"
    OPERATORS = "OPERATORS"

    def name(self):
        return "areasummary"

    def displayName(self):
        return self.tr("Summarise charge points by area")

    def group(self):
        return self.tr("Areas")

    def groupId(self):
        return "areas"

    def shortHelpString(self):
        from ..core.utilisation import definitions_html

        definitions = definitions_html()
        return self.tr(
            "Sums charge points into areas (boroughs, wards, LSOAs or your own zones): for each area the "
            "number of charge points by speed band, the sessions, energy and hours of use summed, the "
            "metrics computed once from those sums (never an average of percentages), and charge points "
            "per 10,000 residents and per 1,000 households without off-street parking when the area layer "
            "has such fields.\n\n"
            "<b>Usage</b> comes from the <b>history archive</b> for the periods wholly inside <b>Period "
            "start</b> to <b>Period end</b> (exclusive; empty means every archived period). Without an "
            "archive, the sums already on the charge point layer are used (the output of <i>Utilisation "
            "per charge point</i>), or counts alone.\n\n"
            "A point belongs to the area that contains it; a point exactly on a shared edge, or outside "
            "every area, is counted in none, and the log says how many. Areas without charge points get "
            "zeros (their metrics, ratios over no hours, stay empty). The layers may be in any CRS.\n\n"
            "Optional outputs: <b>Charge points by area</b> (each point's area and metrics), <b>Trends</b> "
            "(each area and all areas together, per archived period) and <b>Operators</b> (charge points "
            "and share of sessions by operator in each area).<ul>{definitions}</ul>"
        ).format(definitions=definitions)

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFeatureSource(self.POINTS, self.tr("Charge points"), [QgsProcessing.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterFeatureSource(self.AREAS, self.tr("Areas (boroughs, wards, zones)"), [QgsProcessing.TypeVectorPolygon]))
        # Optional only so that QGIS 3.22 accepts the default when a caller leaves it out.
        self.addParameter(QgsProcessingParameterField(self.AREA_NAME_FIELD, self.tr("Area name field"), defaultValue="name",
                                                      parentLayerParameterName=self.AREAS, optional=True))
        self.addParameter(QgsProcessingParameterField(self.POPULATION_FIELD, self.tr("Residents field (empty: found by name)"),
                                                      parentLayerParameterName=self.AREAS, type=QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterField(self.HOUSEHOLDS_FIELD, self.tr("Households without off-street parking field (empty: found by name)"),
                                                      parentLayerParameterName=self.AREAS, type=QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterFile(self.ARCHIVE, self.tr("History archive (GeoPackage)"), extension="gpkg", optional=True))
        self.addParameter(QgsProcessingParameterDateTime(self.PERIOD_START, self.tr("Period start"), QgsProcessingParameterDateTime.Date, optional=True))
        self.addParameter(QgsProcessingParameterDateTime(self.PERIOD_END, self.tr("Period end (exclusive)"), QgsProcessingParameterDateTime.Date, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OUTPUT, self.tr("Area summary"), QgsProcessing.TypeVectorPolygon))
        self.addParameter(QgsProcessingParameterFeatureSink(self.POINT_AREAS, self.tr("Charge points by area"), QgsProcessing.TypeVector,
                                                            optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFeatureSink(self.TRENDS, self.tr("Trends by period"), QgsProcessing.TypeVector,
                                                            optional=True, createByDefault=False))
        self.addParameter(QgsProcessingParameterFeatureSink(self.OPERATORS, self.tr("Operators by area"), QgsProcessing.TypeVector,
                                                            optional=True, createByDefault=False))
        self.addOutput(QgsProcessingOutputNumber("CHARGEPOINTS", self.tr("Charge points inside an area")))
        self.addOutput(QgsProcessingOutputNumber("OUTSIDE", self.tr("Charge points outside every area")))
        self.addOutput(QgsProcessingOutputString("PERIOD", self.tr("Period")))
        self.addOutput(QgsProcessingOutputString("TOTAL", self.tr("All areas together (JSON)")))

    def processAlgorithm(self, parameters, context, feedback):

        from ..core import area_summary
        from ..core.areas import locate_points
        from ..core.usage import period_label
        from ..qgis_io.columns import readable_source
        from ..qgis_io.layers import crs, python_rows

        points_source = readable_source(self, parameters, self.POINTS, context)
        areas_source = self.parameterAsSource(parameters, self.AREAS, context)
        if points_source is None or areas_source is None:
            raise QgsProcessingException(self.tr("Choose a charge point layer and an area layer."))
        start, end = self.chosen_period(parameters, context)
        area_fields = areas_source.fields()
        name_field = self._area_field(parameters, self.AREA_NAME_FIELD, context, area_fields) or "name"
        if area_fields.lookupField(name_field) < 0:
            raise QgsProcessingException(self.tr("The area layer has no field called {field}.").format(field=name_field))
        population_field = self._area_field(parameters, self.POPULATION_FIELD, context, area_fields, area_summary.POPULATION_NAMES)
        households_field = self._area_field(parameters, self.HOUSEHOLDS_FIELD, context, area_fields, area_summary.HOUSEHOLD_NAMES)

        with gc_paused():
            feedback.setProgressText(self.tr("Reading the areas"))
            area_features, areas, geometries, bounds = self._read_areas(areas_source, context, [name_field, population_field, households_field])
            feedback.setProgressText(self.tr("Reading the charge points"))
            points = self._read_points(points_source, context, feedback, self._point_fields(parameters, context), bool(parameters.get(self.POINT_AREAS)))
            if feedback.isCanceled():
                return {}
            feedback.setProgress(30)
            points, per_period, start, end = self._usage(parameters, context, feedback, points, start, end)
            if feedback.isCanceled():
                return {}
            located = locate_points(points["x"], points["y"], geometries, bounds)
            summary = area_summary.summarise_areas(points, located, len(areas),
                                                   areas[population_field] if population_field else None,
                                                   areas[households_field] if households_field else None)
            feedback.setProgress(60)
            names = areas[name_field].astype("object").where(areas[name_field].notna(), None).tolist()
            results = {self.OUTPUT: self._write_areas(parameters, context, areas_source, area_features, summary.areas, feedback)}
            if parameters.get(self.POINT_AREAS):
                results[self.POINT_AREAS] = self._write_point_areas(parameters, context, feedback, points, located, names)
            if parameters.get(self.TRENDS):
                if per_period is None:
                    raise QgsProcessingException(self.tr("Trends need usage by period: give a history archive, or a layer with period_start and period_end."))
                if "point" in per_period:  # archive rows, each naming its charge point among the points
                    trend_areas = located
                else:  # a layer with a feature per period: its rows are not the points summarised
                    per_period = per_period.assign(point=range(len(per_period)))
                    trend_areas = locate_points(per_period["x"], per_period["y"], geometries, bounds)
                trends = area_summary.trends(per_period, trend_areas, names)
                results[self.TRENDS] = self.write_frame_to_sink(trends, parameters, self.TRENDS, context, feedback, QgsWkbTypes.NoGeometry, crs(27700), (80, 90))
            if parameters.get(self.OPERATORS):
                table = area_summary.operators(points, located, names)
                results[self.OPERATORS] = self.write_frame_to_sink(table, parameters, self.OPERATORS, context, feedback, QgsWkbTypes.NoGeometry, crs(27700), (90, 100))

        if summary.outside:
            feedback.pushWarning(self.tr("{count:,} of {total:,} charge points lie outside every area (or exactly on an edge) and are in no area's figures.").format(
                count=summary.outside, total=len(points)))
        label = period_label(start, end) if start is not None and end is not None else ""
        total = dict(zip(summary.total.index, python_rows(summary.total.to_frame().T)[0]))
        total.update({key: int(total[key]) for key in area_summary.COUNT_FIELDS})
        feedback.pushInfo(self.tr("{count:,} charge points in {areas:,} areas.").format(count=total["chargepoints"], areas=len(areas)))
        results.update({"CHARGEPOINTS": total["chargepoints"], "OUTSIDE": summary.outside, "PERIOD": label, "TOTAL": json.dumps(total)})
        return results

    def _area_field(self, parameters, name, context, fields, guesses=()):
        chosen = self.parameterAsString(parameters, name, context)
        if chosen:
            return chosen
        from ..core.area_summary import guess_field

        return guess_field(fields.names(), guesses) if guesses else None

    def _read_areas(self, source, context, fields):
        """Every area's feature in the layer's order (none skipped, so rows match features), its ``fields``,
        its geometry in EPSG:27700 and its bounds there."""
        import pandas as pd
        from shapely import wkb

        from ..qgis_io.layers import attribute_value

        transform = QgsCoordinateTransform(source.sourceCrs(), QgsCoordinateReferenceSystem("EPSG:27700"), context.transformContext())
        fields = [field for field in dict.fromkeys(fields) if field]
        indices = [source.fields().lookupField(field) for field in fields]
        features = list(source.getFeatures())
        rows, shapes, bounds = [], [], []
        nowhere = (float("nan"),) * 4
        for feature in features:
            geometry = feature.geometry()
            if geometry.isNull() or geometry.isEmpty():
                shapes.append(None)
                bounds.append(nowhere)
            else:
                if not transform.isShortCircuited():  # else a copy of the geometry for nothing
                    geometry.transform(transform)
                shapes.append(wkb.loads(bytes(geometry.asWkb())))
                # QGIS has the box at hand; shapely 1.8 takes longer to compute it than locating the points.
                box = geometry.boundingBox()
                bounds.append((box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()))
            attributes = feature.attributes()
            rows.append([attribute_value(attributes[index]) for index in indices])
        return features, pd.DataFrame(rows, columns=fields), shapes, bounds

    def _point_fields(self, parameters, context):
        """The point attributes this run uses (those the layer lacks are skipped).

        Identities and operators are text, the dearest to read: only for the archive and the outputs that need them.
        """
        from ..core.utilisation import SUM_COLUMNS

        names = ["power_kw", "speed_band", "period_start", "period_end", *SUM_COLUMNS]
        if self.parameterAsFile(parameters, self.ARCHIVE, context) or parameters.get(self.POINT_AREAS):
            names.append("chargepoint_id")
        if parameters.get(self.OPERATORS) or parameters.get(self.POINT_AREAS):
            names.append("operator")
        return names

    def _read_points(self, source, context, feedback, names, with_ids):
        """Point coordinates in EPSG:27700, the attributes ``names`` and, if ``with_ids``, the feature ids."""
        import pandas as pd

        from ..core.utilisation import SUM_COLUMNS
        from ..qgis_io.columns import read_columns

        points = read_columns(source, names, QgsCoordinateReferenceSystem("EPSG:27700"), context.transformContext(), feedback, with_ids)
        for column in SUM_COLUMNS + ["power_kw"]:
            if column in points:
                points[column] = pd.to_numeric(points[column], errors="coerce")
        if "speed_band" not in points and "power_kw" in points:
            from ..core.schema import speed_bands

            points["speed_band"] = speed_bands(points["power_kw"]).to_numpy()
        return points

    def _usage(self, parameters, context, feedback, points, start, end):
        """The points with their usage sums for the period, and the sums per point per period (or None).

        From the archive when one is given; else from a layer that has the sums
        (one feature per charge point, or per charge point per period).
        """
        import pandas as pd

        from ..core.utilisation import SUM_COLUMNS, utilisation, utilisation_by_period

        path = self.parameterAsFile(parameters, self.ARCHIVE, context)
        if path:
            if "chargepoint_id" not in points:
                raise QgsProcessingException(self.tr("The charge point layer has no chargepoint_id field, so its usage cannot be found in the archive."))
            registered, usage = self.read_archive(path)
            registered = registered[["chargepoint_id", "power_kw"]]
            if usage.empty:
                feedback.pushWarning(self.tr("The history archive holds no usage yet: the summary has counts alone."))
                return points, None, start, end
            start, end = self.archived_range(usage, start, end)
            ids = points["chargepoint_id"].astype("string")
            power = points["power_kw"] if "power_kw" in points else pd.Series(float("nan"), index=points.index)
            # The layer's own power wins; the archive's fills in where the layer has none.
            power = power.fillna(ids.map(registered.set_index("chargepoint_id")["power_kw"]))
            chargepoints = pd.DataFrame({"chargepoint_id": ids, "power_kw": power}).drop_duplicates("chargepoint_id")
            sums = utilisation(usage, chargepoints, start, end).set_index("chargepoint_id")
            with_sums = points.drop(columns=[column for column in sums.columns if column in points]).join(sums, on=ids)
            if not sums["available_hours"].notna().any():
                feedback.pushWarning(self.tr("No archived period lies wholly inside {start} to {end}: the summary has counts alone.").format(start=start.date(), end=end.date()))
            per_period = None
            if parameters.get(self.TRENDS):
                feedback.setProgressText(self.tr("Summing every archived period"))
                per_period = utilisation_by_period(usage, chargepoints)
                per_period["point"] = per_period["chargepoint_id"].map(pd.Series(range(len(points)), index=ids).groupby(level=0).first())
                per_period = per_period.dropna(subset=["point"]).astype({"point": "int64"})
            return with_sums, per_period, start, end

        if "period_start" in points and "period_end" in points and points["period_start"].notna().any():
            per_period = points  # every period's rows, located on their own (see process)
            inside = pd.Series(True, index=points.index)
            if start:
                inside &= points["period_start"] >= pd.Timestamp(start)
            if end:
                inside &= points["period_end"] <= pd.Timestamp(end)
            chosen = points.loc[inside]
            periods = chosen[["period_start", "period_end"]].drop_duplicates()
            if len(periods) > 1:
                raise QgsProcessingException(self.tr("The charge point layer has one feature per period ({count} periods): choose one period, or give the history archive.").format(
                    count=len(periods)))
            if len(periods) == 1:
                start, end = periods.iloc[0]["period_start"], periods.iloc[0]["period_end"]
            return chosen, per_period, start, end
        if not any(column in points for column in SUM_COLUMNS):
            feedback.pushInfo(self.tr("No history archive and no usage fields on the charge points: the summary has counts alone."))
        return points, None, start, end

    def _write_areas(self, parameters, context, source, features, summary, feedback):
        """The area layer as it is, plus one field per summary figure (an existing field of the same name is replaced).

        ``features`` are the areas as read, in the order of the rows of ``summary``; they are reused for the output.
        """
        from ..qgis_io.layers import fields_for

        summary_fields = fields_for(summary)
        kept = [index for index, field in enumerate(source.fields()) if summary_fields.lookupField(field.name()) < 0]
        if len(kept) < len(source.fields()):
            feedback.pushWarning(self.tr("The area layer's own fields named like summary fields are replaced by the summary."))
        fields = QgsFields()
        for index in kept:
            fields.append(QgsField(source.fields().at(index)))
        for field in summary_fields:
            fields.append(field)
        sink, dest = self.parameterAsSink(parameters, self.OUTPUT, context, fields, source.wkbType(), source.sourceCrs())
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        from ..qgis_io.layers import python_rows

        for feature, row in zip(features, python_rows(summary)):
            attributes = feature.attributes()
            feature.setFields(fields, False)
            feature.setAttributes([attributes[index] for index in kept] + row)
        # One call: a sink takes a list at once three times faster than feature by feature.
        if not sink.addFeatures(features, QgsFeatureSink.FastInsert):
            raise QgsProcessingException(self.tr("Could not write features to {name}: {error}").format(name=self.OUTPUT, error=sink.lastError()))
        return dest

    def _write_point_areas(self, parameters, context, feedback, points, located, names):
        import pandas as pd

        from ..core.utilisation import METRIC_KEYS
        from ..qgis_io.layers import crs

        table = pd.DataFrame({"fid": points["fid"], "area_index": located,
                              "area_name": pd.Series(names, dtype="object").reindex(located).to_numpy()})
        for column in ("chargepoint_id", "operator", "speed_band", *METRIC_KEYS):
            if column in points:
                table[column] = points[column].to_numpy()
        return self.write_frame_to_sink(table, parameters, self.POINT_AREAS, context, feedback, QgsWkbTypes.NoGeometry, crs(27700), (70, 80))
