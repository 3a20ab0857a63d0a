"""What every algorithm of the provider shares: translation, grouping, sinks."""
import gc
import threading
from collections import deque
from contextlib import contextmanager
from itertools import islice

from qgis.PyQt.QtCore import QCoreApplication
from qgis.core import QgsFeatureSink, QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingLayerPostProcessorInterface

# Features written between two looks at the progress bar and the Cancel button.
SINK_BATCH = 5000

_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = True


@contextmanager
def gc_paused():
    """Hold off Python's cyclic garbage collector while a load builds its layer.

    A load makes tens of thousands of objects (rows, points, features) that
    reference counting frees; the collector still counts them, and once or twice
    per 25,000 points walks every object in QGIS's interpreter, about 60 ms each
    time. Loads running at once in other threads share the pause; the collector
    is back as it was when the last of them ends.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


class StyleOnLoad(QgsProcessingLayerPostProcessorInterface):
    """Runs ``style(layer)`` once Processing adds an output to the project (on the GUI thread)."""

    # Processing keeps only a pointer to a post-processor, and the algorithm
    # instance that made it may be gone by the time the layer is loaded: the
    # Python objects are kept here (the last few runs are plenty).
    alive = deque(maxlen=16)

    def __init__(self, style):
        super().__init__()
        self.style = style

    def postProcessLayer(self, layer, context, feedback):
        self.style(layer)


class EvChargeAlgorithm(QgsProcessingAlgorithm):
    def tr(self, text):
        return QCoreApplication.translate(type(self).__name__, text)

    def createInstance(self):
        return type(self)()

    def parameter_as_date(self, parameters, name, context):
        """A Date parameter's value as a ``datetime.date``, or None when empty."""
        # parameterAsDate arrived after QGIS 3.22; a Date parameter's value is a QDateTime there.
        value = self.parameterAsDateTime(parameters, name, context)
        return value.date().toPyDate() if value is not None and value.isValid() else None

    def chosen_period(self, parameters, context) -> tuple:
        """``(start, end)`` dates from PERIOD_START and PERIOD_END (either may be None); refused when it ends before it starts."""
        start, end = self.parameter_as_date(parameters, "PERIOD_START", context), self.parameter_as_date(parameters, "PERIOD_END", context)
        if start and end and end <= start:
            raise QgsProcessingException(self.tr("The period ends ({end}) before it starts ({start}).").format(start=start, end=end))
        return start, end

    def read_archive(self, path) -> tuple:
        """``(charge points, usage)`` from the history archive at ``path``, with a clear message when it is missing or unreadable."""
        from pathlib import Path

        from ..core.archive import Archive
        from ..core.errors import EvChargeError

        if not path or not Path(path).is_file():
            raise QgsProcessingException(self.tr("The history archive {path} does not exist: import usage into it first.").format(path=path))
        try:
            with Archive(path) as archive:
                return archive.chargepoints(), archive.usage()
        except EvChargeError as error:
            raise QgsProcessingException(str(error)) from error

    @staticmethod
    def archived_range(usage, start, end) -> tuple:
        """The period as Timestamps, an open end taken from the archived usage (every period)."""
        import pandas as pd

        return (pd.Timestamp(start) if start else usage["period_start"].min(), pd.Timestamp(end) if end else usage["period_end"].max())

    def group(self):
        return self.tr("Charge points")

    def groupId(self):
        return "chargepoints"

    @staticmethod
    def style_on_load(context, output, style) -> None:
        """Have ``style(layer)`` applied to ``output`` when Processing loads it into the project (the toolbox does)."""
        if context.willLoadLayerOnCompletion(output):
            processor = StyleOnLoad(style)
            StyleOnLoad.alive.append(processor)
            context.layerToLoadOnCompletionDetails(output).setPostProcessor(processor)

    def write_frame_to_sink(self, frame, parameters, name, context, feedback, wkb_type, crs, progress=(0, 100), xy=None):
        """Create the sink ``name`` with fields typed from ``frame`` and fill it.

        ``progress`` is the (start, end) share of the algorithm's progress bar this step fills;
        ``xy`` optionally gives a point frame's coordinates (see ``features_from_frame``).
        """
        from ..qgis_io.layers import features_from_frame, fields_for  # pandas: not at QGIS start-up

        fields = fields_for(frame)
        sink, dest_id = self.parameterAsSink(parameters, name, context, fields, wkb_type, crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, name))
        features = features_from_frame(frame, fields, xy, reuse=True)
        total = max(len(frame), 1)
        for done in range(0, len(frame), SINK_BATCH):
            if feedback.isCanceled():
                break
            for feature in islice(features, SINK_BATCH):
                if not sink.addFeature(feature, QgsFeatureSink.FastInsert):
                    raise QgsProcessingException(self.tr("Could not write features to {name}: {error}").format(name=name, error=sink.lastError()))
            feedback.setProgress(progress[0] + (progress[1] - progress[0]) * min(done + SINK_BATCH, total) / total)
        return dest_id


class UsageAlgorithm(EvChargeAlgorithm):
    """The algorithms of the Usage group."""

    def group(self):
        return self.tr("Usage")

    def groupId(self):
        return "usage"


class LiveStatusAlgorithm(EvChargeAlgorithm):
    """The algorithms of the Live status group."""

    def group(self):
        return self.tr("Live status")

    def groupId(self):
        return "livestatus"
