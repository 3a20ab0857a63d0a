"""What every algorithm of the provider shares: translation, grouping, sinks."""
from qgis.PyQt.QtCore import QCoreApplication
from qgis.core import QgsFeatureSink, QgsProcessingAlgorithm, QgsProcessingException

from ..qgis_io.layers import features_from_frame, fields_for


class EvChargeAlgorithm(QgsProcessingAlgorithm):
    def tr(self, text):
        return QCoreApplication.translate(type(self).__name__, text)

    def createInstance(self):
        return type(self)()

    def group(self):
        return self.tr("Charge points")

    def groupId(self):
        return "chargepoints"

    def write_frame_to_sink(self, frame, parameters, name, context, feedback, wkb_type, crs, progress=(0, 100)):
        """Create the sink ``name`` with fields typed from ``frame`` and fill it.

        ``progress`` is the (start, end) share of the algorithm's progress bar this step fills.
        """
        fields = fields_for(frame)
        sink, dest_id = self.parameterAsSink(parameters, name, context, fields, wkb_type, crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, name))
        total = max(len(frame), 1)
        for count, feature in enumerate(features_from_frame(frame, fields)):
            if feedback.isCanceled():
                break
            if not sink.addFeature(feature, QgsFeatureSink.FastInsert):
                raise QgsProcessingException(self.tr("Could not write a feature to {name}: {error}").format(name=name, error=sink.lastError()))
            if count % 1000 == 0:
                feedback.setProgress(progress[0] + (progress[1] - progress[0]) * count / total)
        return dest_id
