"""Everything a committee report needs, made in order: figures, layers, charts, the layout, the PDF.

The figures come from ``evcharge:areasummary`` and the map's charge points from
``evcharge:utilisation``, run as child algorithms, so the pages print exactly
what the panel and the toolbox give. Every file the report makes goes into one
new folder beside the project's other plugin layers; if anything fails or is
cancelled, the folder goes and the project is left as it was.
"""
import difflib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Optional

from qgis.core import (
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsField,
    QgsFillSymbol,
    QgsProcessingMultiStepFeedback,
    QgsProcessingUtils,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
)
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QVariant

from ..toolbelt.i18n import tr
from . import templates
from .layout import TREND_CHART_FIELD, WARD_CHART_FIELD, PageContent, build_layout, export_pdf, export_pngs

CHART_PIXELS_PER_MM = 4  # the chart's on-screen size, so that its 11 pt text prints at about 10 pt
REPORT_FOLDER_PREFIX = "committee_report_"  # each run's own folder of layers and charts
# The report's steps, each an equal share of the progress bar.
STEPS = ("boroughs", "wards", "map", "charts", "pdf")


class ReportError(Exception):
    """Nothing to print, or an input that cannot make a report; the message says which and why."""


@dataclass
class Built:
    pages: int
    layout_name: str
    period: str


@dataclass
class CommitteeReport:
    chargepoints: Optional[QgsVectorLayer]
    areas: Optional[QgsVectorLayer]
    name_field: str = "name"
    area: Optional[str] = None
    archive: str = ""
    start: Optional[date] = None
    end: Optional[date] = None
    sites: Optional[QgsVectorLayer] = None
    title: str = ""
    organisation: str = ""
    metric_index: int = 0
    wards: Optional[QgsVectorLayer] = None
    ward_name_field: str = "name"
    paper: str = "A4"
    orientation: str = "landscape"

    @property
    def metric(self) -> str:
        from ..core.choices import METRIC_KEYS

        return METRIC_KEYS[self.metric_index]

    def build(self, context, feedback, output: str, png_folder: str = "") -> Built:
        from ..qgis_io.project import layer_folder

        self._check(output, png_folder)
        folder = layer_folder(context.project()) / f"{REPORT_FOLDER_PREFIX}{datetime.now():%Y%m%d_%H%M%S_%f}"
        folder.mkdir(parents=True)
        layers = []
        try:
            built = self._build(context, QgsProcessingMultiStepFeedback(len(STEPS), feedback), output, png_folder, folder, layers)
        except BaseException:
            # Each layer closes its file before the folder goes: the traceback keeps the layers alive, and
            # one closed later, on a deleted GeoPackage, crashes GDAL.
            for layer in layers:
                if not sip.isdeleted(layer):
                    sip.delete(layer)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return built

    # -- checks -----------------------------------------------------------------------------------------------

    def _check(self, output: str, png_folder: str) -> None:
        if self.chargepoints is None or not self.chargepoints.isValid():
            raise ReportError(tr("Choose a charge point layer."))
        # Not featureCount(): a filtered layer may not know its count (-1).
        if self.areas is None or not self.areas.isValid() or next(self.areas.getFeatures(), None) is None:
            raise ReportError(tr("Nothing to print: choose a boroughs layer with at least one area."))
        if self.areas.fields().lookupField(self.name_field) < 0:
            raise ReportError(tr("The area layer has no field called {field}.").format(field=self.name_field))
        names = [str(feature[self.name_field]) for feature in self.areas.getFeatures()]
        if self.area is not None and self.area not in names:
            close = difflib.get_close_matches(self.area, names, n=3)
            hint = tr(" Did you mean {names}?").format(names=", ".join(close)) if close else ""
            raise ReportError(tr("The area layer has no area called '{area}' (field {field}).{hint}").format(area=self.area, field=self.name_field, hint=hint))
        if self.sites is not None and not {"order", "added_demand"} <= set(self.sites.fields().names()):
            raise ReportError(tr("The chosen sites layer has no order and added_demand fields: give the output of Choose best sites."))
        if not output or not _writable(Path(output).parent):
            raise ReportError(tr("Cannot write the PDF to {path}: its folder does not exist or cannot be written to.").format(path=output))
        if png_folder and not _writable(_existing_parent(Path(png_folder))):
            raise ReportError(tr("Cannot write the PNG pages to {path}: it cannot be made or written to.").format(path=png_folder))
        if self.archive:
            self._check_archive()

    def _check_archive(self) -> None:
        from ..core.archive import Archive
        from ..core.errors import EvChargeError

        try:
            with Archive(self.archive) as archive:
                empty = archive.periods().empty
        except EvChargeError as error:
            raise ReportError(str(error)) from None
        if empty:
            raise ReportError(tr("Nothing to print: the history archive holds no usage yet (import usage first)."))

    # -- the report -------------------------------------------------------------------------------------------

    def _build(self, context, feedback, output, png_folder, folder: Path, layers) -> Built:
        """Each step reports its progress as a share of the whole (``feedback`` is a multi-step one, see STEPS)."""
        from ..core.committee import is_demo, key_figures, sources_text
        from ..core.utilisation import metrics

        metric = metrics()[self.metric]
        feedback.setCurrentStep(STEPS.index("boroughs"))
        feedback.setProgressText(tr("Summing the charge points by borough"))
        summary = self._run("evcharge:areasummary", {
            "POINTS": self.chargepoints, "AREAS": self.areas, "AREA_NAME_FIELD": self.name_field, "ARCHIVE": self.archive or None,
            "PERIOD_START": self._date(self.start), "PERIOD_END": self._date(self.end),
            "OUTPUT": str(folder / "boroughs.gpkg"), "TRENDS": "TEMPORARY_OUTPUT" if self.archive else None,
        }, context, feedback)
        total = json.loads(summary["TOTAL"])
        period = summary["PERIOD"]
        if not total["chargepoints"]:
            raise ReportError(tr("Nothing to print: no charge point lies in any area of the area layer."))
        if self.archive and not total["with_usage"]:
            raise ReportError(tr("Nothing to print: the history archive holds no usage for {period}.").format(
                period=period or tr("the period chosen")))
        coverage = self._layer(folder / "boroughs.gpkg", tr("Boroughs"), layers)
        rows = {str(row[self.name_field]): row for row in _rows(coverage)}
        if self.area is not None and not rows[self.area]["chargepoints"]:
            raise ReportError(tr("Nothing to print: {area} has no charge points.").format(area=self.area))
        _outline(coverage, "#222222", 0.6)
        self._check_cancelled(feedback)

        wards = ward_rows = None
        if self.wards is not None:
            feedback.setCurrentStep(STEPS.index("wards"))
            feedback.setProgressText(tr("Summing the charge points by ward"))
            self._run("evcharge:areasummary", {
                "POINTS": self.chargepoints, "AREAS": self.wards, "AREA_NAME_FIELD": self.ward_name_field, "ARCHIVE": self.archive or None,
                "PERIOD_START": self._date(self.start), "PERIOD_END": self._date(self.end), "OUTPUT": str(folder / "wards.gpkg"),
            }, context, feedback)
            wards = self._layer(folder / "wards.gpkg", tr("Wards"), layers)
            _outline(wards, "#9a9a9a", 0.2)
            ward_rows = list(zip(_rows(wards), _parents(wards, coverage)))
        self._check_cancelled(feedback)

        feedback.setCurrentStep(STEPS.index("map"))
        feedback.setProgressText(tr("Styling the charge points by {metric}").format(metric=metric.label))
        points, legend_title = self._map_points(context, feedback, folder, layers)
        sites = self._sites(folder, layers, coverage.crs(), context) if self.sites is not None else None
        _write_table(folder / "key_figures.gpkg", ["area", "figure", "borough", "london"],
                     [[name, *figure] for name, row in rows.items() for figure in key_figures(row, total)])
        figures = self._layer(folder / "key_figures.gpkg", tr("Key figures"), layers)
        self._check_cancelled(feedback)

        sources = {str(feature["source"]) for feature in self.chargepoints.getFeatures()} if "source" in self.chargepoints.fields().names() else set()
        shown = period or (tr("every archived period") if self.archive else tr("the figures on the charge point layer"))
        usage_known = any(row.get(self.metric) is not None for row in rows.values())
        if usage_known:
            subtitle = tr("{period} · {metric}: {definition}").format(period=shown, metric=metric.label, definition=metric.long)
        else:  # no archive and no usage on the layer: say so, rather than name a metric nothing shows
            subtitle = tr("{period} · Counts only: the charge point layer holds no usage, so the map shows charging speed.").format(period=shown)
        dated = " · ".join(part for part in (self.organisation, date.today().strftime("%d %B %Y").lstrip("0")) if part)
        content = PageContent(
            title=self.title, subtitle=subtitle, dated=dated,
            sources=sources_text(sources, self.areas.name(), Path(self.archive).name if self.archive else ""),
            legend_title=legend_title, coverage=coverage, name_field=self.name_field, points=points, key_figures=figures,
            wards=wards, sites=sites, area=self.area)
        layout_name = tr("{title}: {scope}, {period}").format(title=self.title, scope=self.area or tr("all boroughs"), period=period or tr("all periods"))
        layout = build_layout(context.project(), content, self.paper, self.orientation, layout_name)

        feedback.setCurrentStep(STEPS.index("charts"))
        feedback.setProgressText(tr("Drawing the charts"))
        chart_field, chart_label, decimals = (self.metric, metric.label, metric.decimals) if usage_known else ("chargepoints", tr("Charge points"), 0)
        self._charts(layout, coverage, rows, ward_rows, summary.get("TRENDS"), (chart_field, chart_label, decimals), context, folder, feedback)
        feedback.setCurrentStep(STEPS.index("pdf"))
        if png_folder:
            # Into the run's folder first: moved to where they belong only once the PDF is whole too.
            feedback.setProgressText(tr("Writing the PNG pages"))
            pngs = export_pngs(layout, folder / "pages", feedback)
        feedback.setProgressText(tr("Writing the PDF"))
        pages = export_pdf(layout, output, feedback)
        if png_folder:
            Path(png_folder).mkdir(parents=True, exist_ok=True)
            for png in pngs:
                os.replace(png, Path(png_folder) / png.name)
        self._keep(context.project(), layout, layout_name, [sites, points, wards, coverage, figures])
        del layers[:]  # the project has them now
        if is_demo(sources):
            feedback.pushInfo(tr("The charge points are the synthetic demo data: every page says so."))
        return Built(pages, layout_name, period)

    def _run(self, algorithm_id, parameters, context, feedback) -> dict:
        """A child algorithm's results; a Cancel during it stops the report (what the child made of it does not matter)."""
        import processing
        from qgis.core import QgsProcessingException

        try:
            results = processing.run(algorithm_id, {key: value for key, value in parameters.items() if value is not None},
                                     context=context, feedback=feedback, is_child_algorithm=True)
        except QgsProcessingException:
            self._check_cancelled(feedback)
            raise
        self._check_cancelled(feedback)
        return results

    @staticmethod
    def _date(value):
        return value.isoformat() if value else None

    @staticmethod
    def _check_cancelled(feedback) -> None:
        from .layout import ExportCancelled

        if feedback.isCanceled():
            raise ExportCancelled()

    @staticmethod
    def _layer(path: Path, name: str, layers: list) -> QgsVectorLayer:
        layer = QgsVectorLayer(f"{path}|layername={path.stem}", name, "ogr")
        if not layer.isValid():
            raise ReportError(tr("Could not open {path}.").format(path=path))
        layers.append(layer)
        return layer

    def _map_points(self, context, feedback, folder: Path, layers) -> tuple:
        """The charge points the maps show, styled by the metric (by speed when the layer has no usage), and the legend's title."""
        from ..qgis_io.layers import write_gpkg
        from ..qgis_io.symbology import RendererSettings, apply_chargepoint_style, legend_title, style_by_utilisation

        path = folder / "chargepoints.gpkg"
        if self.archive:
            self._run("evcharge:utilisation", {"ARCHIVE": self.archive, "PERIOD_START": self._date(self.start), "PERIOD_END": self._date(self.end),
                                               "BY_PERIOD": False, "METRIC": self.metric_index, "OUTPUT": str(path)}, context, feedback)
        else:
            write_gpkg({"chargepoints": self.chargepoints}, path)
        points = self._layer(path, tr("Charge points"), layers)
        if self.archive:
            self._keep_only_chosen(points)
        fields = points.fields().names()
        if self.metric in fields:
            start, end = _period_of(points)
            settings = RendererSettings.load()
            settings.metric = self.metric
            style_by_utilisation(points, self.metric, start, end, settings)
            return points, legend_title(self.metric, start, end)
        apply_chargepoint_style(points)
        return points, tr("Charge points by speed")

    def _keep_only_chosen(self, points) -> None:
        """The archive's utilisation layer holds every charge point it registered: keep those of the chosen layer."""
        if self.chargepoints.fields().lookupField("chargepoint_id") < 0:
            return
        def ids_only(layer):
            return QgsFeatureRequest().setFlags(QgsFeatureRequest.NoGeometry).setSubsetOfAttributes(["chargepoint_id"], layer.fields())

        chosen = {str(feature["chargepoint_id"]) for feature in self.chargepoints.getFeatures(ids_only(self.chargepoints))}
        request = ids_only(points)
        others = [feature.id() for feature in points.getFeatures(request) if str(feature["chargepoint_id"]) not in chosen]
        if others and not points.dataProvider().deleteFeatures(others):
            raise ReportError(tr("Could not keep only the chosen charge points on the map."))

    def _sites(self, folder: Path, layers, crs, context) -> QgsVectorLayer:
        """The chosen sites as points in ``crs`` (the boroughs', so each page can list those inside its borough)."""
        import geopandas as gpd
        from shapely import wkb

        from ..qgis_io.layers import memory_layer, write_gpkg
        from ..qgis_io.siting_style import style_selection

        transform = QgsCoordinateTransform(self.sites.crs(), crs, context.transformContext())
        fields = self.sites.fields().names()
        label = next((field for field in ("name", "site", "candidate") if field in fields), None)
        rows, points = [], []
        for feature in self.sites.getFeatures():
            geometry = feature.geometry()
            if geometry.isNull():
                continue
            geometry = geometry.pointOnSurface()
            geometry.transform(transform)
            rows.append({"order": int(feature["order"]), "site": str(feature[label]) if label else str(feature.id()),
                         "added_demand_text": f"{float(feature['added_demand']):,.0f}"})
            points.append(wkb.loads(bytes(geometry.asWkb())))
        frame = gpd.GeoDataFrame(rows, geometry=points) if rows else \
            gpd.GeoDataFrame({"order": [], "site": [], "added_demand_text": []}, geometry=gpd.GeoSeries([]))
        path = folder / "sites.gpkg"
        kept = memory_layer(frame, "sites")
        kept.setCrs(crs)
        write_gpkg({"sites": kept}, path)
        sites = self._layer(path, tr("Chosen sites"), layers)
        style_selection(sites)
        return sites

    def _charts(self, layout, coverage, rows, ward_rows, trends_id, shown, context, folder: Path, feedback) -> None:
        """Each borough's ward chart and trend as pictures, their paths written on its feature for the layout to find.

        ``shown`` is the (field, label, decimals) the charts show: the metric, or the count of charge points without usage.
        """
        from ..gui.charts import PRINT_THEME, BarChart, TrendChart

        field, label, decimals = shown
        charts = folder / "charts"
        charts.mkdir()
        bar, trend = BarChart(PRINT_THEME), TrendChart(PRINT_THEME)
        _size(bar, layout.itemById(templates.WARD_CHART))
        _size(trend, layout.itemById(templates.TREND_CHART))
        series = _trend_series(QgsProcessingUtils.mapLayerFromString(trends_id, context) if trends_id else None, self.metric)
        provider = coverage.dataProvider()
        provider.addAttributes([QgsField(WARD_CHART_FIELD, QVariant.String), QgsField(TREND_CHART_FIELD, QVariant.String)])
        coverage.updateFields()
        ward_index, trend_index = coverage.fields().indexOf(WARD_CHART_FIELD), coverage.fields().indexOf(TREND_CHART_FIELD)
        changes = {}
        chosen = [feature for feature in coverage.getFeatures() if self.area is None or str(feature[self.name_field]) == self.area]
        for number, feature in enumerate(chosen):
            name = str(feature[self.name_field])
            feedback.setProgress(100 * number / max(len(chosen), 1))
            self._check_cancelled(feedback)
            if ward_rows is not None:
                wards = [(row[self.ward_name_field], row[field]) for row, parent in ward_rows if parent == feature.id()]
                bar.set_title(tr("{metric} by ward, {area}").format(metric=label, area=name))
            else:
                wards = [(area, row[field]) for area, row in rows.items()]
                bar.set_title(tr("{metric} by borough").format(metric=label))
            bar.set_data([str(ward) for ward, _ in wards], [_float(value) for _, value in wards], _float(rows[name][field]), name, decimals=decimals)
            ward_path = bar.export(charts / f"{feature.id()}_ward.png", width=bar.width() * 2)
            changes[feature.id()] = {ward_index: str(ward_path)}
            if series:
                trend.set_title(tr("{metric} over time").format(metric=label))
                trend.set_series([(name, *series.get(name, ([], []))), (tr("London (all boroughs)"), *series.get(None, ([], [])))],
                                 decimals=decimals)
                changes[feature.id()][trend_index] = str(trend.export(charts / f"{feature.id()}_trend.png", width=trend.width() * 2))
        provider.changeAttributeValues(changes)

    @staticmethod
    def _keep(project, layout, name: str, layers) -> None:
        """The layout and its layers into the project, in place of an earlier report of the same name."""
        from ..qgis_io.project import layer_folder, plugin_group

        manager = project.layoutManager()
        earlier = manager.layoutByName(name)
        if earlier is not None:
            manager.removeLayout(earlier)
        parent = plugin_group(project)
        old_group = parent.findGroup(name)
        if old_group is not None:
            old = [node.layer() for node in old_group.findLayers() if node.layer() is not None]
            folders = {Path(layer.source().split("|")[0]).parent for layer in old}
            project.removeMapLayers([layer.id() for layer in old])
            parent.removeChildNode(old_group)
            for folder in folders:  # the earlier report's own folder, with its charts
                if folder.name.startswith(REPORT_FOLDER_PREFIX) and folder.parent == layer_folder(project):
                    shutil.rmtree(folder, ignore_errors=True)
        group = parent.addGroup(name)
        group.setItemVisibilityChecked(False)
        for layer in layers:
            if layer is not None:
                project.addMapLayer(layer, False)
                group.addLayer(layer)
        manager.addLayout(layout)


def _existing_parent(path: Path) -> Path:
    """``path``, or the nearest folder above it that exists (where it would be made)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _writable(folder: Path) -> bool:
    """True if a file can be made in ``folder`` (tried, since permissions alone do not tell for root or network drives)."""
    if not folder.is_dir():
        return False
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".evcharge_probe_"):
            return True
    except OSError:
        return False


def _rows(layer) -> list:
    from ..qgis_io.layers import attribute_value

    names = layer.fields().names()
    return [dict(zip(names, (attribute_value(value) for value in feature.attributes()))) for feature in layer.getFeatures()]


def _parents(wards, boroughs) -> list:
    """Each ward's borough, as the borough's feature id (None when it lies in none)."""
    from ..qgis_io.layers import parents_of

    ids = [feature.id() for feature in boroughs.getFeatures()]
    return [ids[position] if position >= 0 else None for position in parents_of(wards, boroughs)]


def _period_of(points) -> tuple:
    fields = points.fields()
    if fields.indexOf("period_start") < 0:
        return None, None
    start = points.minimumValue(fields.indexOf("period_start"))
    end = points.maximumValue(fields.indexOf("period_end"))
    return (start.date().toPyDate() if start else None), (end.date().toPyDate() if end else None)


def _float(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _size(chart, picture) -> None:
    size = picture.sizeWithUnits()
    chart.resize(int(size.width() * CHART_PIXELS_PER_MM), int(size.height() * CHART_PIXELS_PER_MM))


def _trend_series(trends, metric: str) -> dict:
    """{area name (None for all areas): (period starts, values)} from the area summary's TRENDS table."""
    if trends is None:
        return {}
    from ..core.area_summary import TOTAL
    from ..qgis_io.layers import attribute_value

    series = {}
    for feature in sorted(trends.getFeatures(), key=lambda feature: attribute_value(feature["period_start"])):
        key = None if feature["scope"] == TOTAL else feature["area_name"]
        dates, values = series.setdefault(key, ([], []))
        dates.append(attribute_value(feature["period_start"]).date())
        values.append(_float(attribute_value(feature[metric])))
    return series


def _outline(layer, colour: str, width_mm: float) -> None:
    symbol = QgsFillSymbol.createSimple({"style": "no", "outline_color": colour, "outline_width": str(width_mm), "outline_width_unit": "MM"})
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))


def _write_table(path: Path, columns, rows) -> None:
    """A table of text ``rows`` into a GeoPackage at ``path``, as a layer named like the file (see CommitteeReport._layer)."""
    import pandas as pd

    from ..qgis_io.layers import memory_layer, write_gpkg

    write_gpkg({path.stem: memory_layer(pd.DataFrame(rows, columns=columns, dtype="object").astype("string"), path.stem)}, path)

