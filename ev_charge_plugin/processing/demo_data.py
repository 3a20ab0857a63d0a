"""evcharge:demodata - build the synthetic demo dataset into one GeoPackage."""
from pathlib import Path

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputFile,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFolderDestination,
)

from ..core.errors import EvChargeError
from .base import EvChargeAlgorithm

GPKG_NAME = "demo.gpkg"


class DemoDataAlgorithm(EvChargeAlgorithm):
    FOLDER = "FOLDER"

    def name(self):
        return "demodata"

    def displayName(self):
        return self.tr("Build demo dataset")

    def group(self):
        return self.tr("Demo data")

    def groupId(self):
        return "demo"

    def shortHelpString(self):
        return self.tr(
            "Writes the synthetic demo dataset into <i>demo.gpkg</i> in the chosen folder: "
            "layers <i>charge_points</i>, <i>usage</i>, <i>boroughs</i> and <i>wards</i>. "
            "Beside it go the operators' charge point CSV and their quarterly usage return, in the "
            "plugin's data standard, ready for Load charge points and Import usage. The 33 boroughs carry their real names and GSS codes, but the geography, the "
            "charge points and their usage are invented, and every layer says so. The charge "
            "points go through the same loader as real data, from the operators' CSV written "
            "beside the GeoPackage, so the demo shows a data-quality report too. The same "
            "seed always gives the same data; nothing is downloaded."
        )

    def initAlgorithm(self, config=None):
        self.addParameter(QgsProcessingParameterFolderDestination(self.FOLDER, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputFile("GPKG", self.tr("Demo GeoPackage")))
        self.addOutput(QgsProcessingOutputFile("CSV", self.tr("Demo operators' charge point CSV")))
        self.addOutput(QgsProcessingOutputFile("USAGE_CSV", self.tr("Demo operators' quarterly usage return")))
        self.addOutput(QgsProcessingOutputNumber("LOADED", self.tr("Charge points loaded")))
        self.addOutput(QgsProcessingOutputNumber("REJECTED", self.tr("Records rejected")))

    def processAlgorithm(self, parameters, context, feedback):
        # Imported here, not at module level: pandas, scipy and shapely would slow QGIS's start-up.
        from shapely.ops import unary_union

        from ..core import demo
        from ..core.readers import read_chargepoints
        from ..qgis_io.layers import memory_layer, set_layer_metadata, write_gpkg

        folder = Path(self.parameterAsString(parameters, self.FOLDER, context))
        folder.mkdir(parents=True, exist_ok=True)
        feedback.setProgressText(self.tr("Generating the synthetic demo data"))
        data = demo.build_demo()
        csv_path = demo.write_demo_csv(data, folder)
        usage_path = demo.write_demo_usage_return(data, folder)
        feedback.setProgress(30)
        try:
            loaded = read_chargepoints(csv_path, london_boundary=unary_union(list(data.boroughs.geometry)))
        except EvChargeError as error:
            raise QgsProcessingException(str(error)) from error
        loaded.chargepoints["source"] = demo.LAYER_NAMES["charge_points"]
        feedback.setProgress(60)

        frames = {"charge_points": loaded.chargepoints, "usage": data.usage, "boroughs": data.boroughs, "wards": data.wards}
        layers = {}
        for table, frame in frames.items():
            layer = memory_layer(frame, demo.LAYER_NAMES[table])
            set_layer_metadata(layer, demo.LAYER_NAMES[table], demo.ATTRIBUTION, demo.ATTRIBUTION)
            layers[table] = layer
        gpkg = write_gpkg(layers, folder / GPKG_NAME)
        feedback.setProgress(100)
        feedback.pushInfo(self.tr("{loaded:,} demo charge points loaded, {rejected:,} rejected by design.").format(
            loaded=loaded.loaded, rejected=loaded.rejected))
        return {"GPKG": str(gpkg), "CSV": str(csv_path), "USAGE_CSV": str(usage_path), "LOADED": loaded.loaded, "REJECTED": loaded.rejected}
