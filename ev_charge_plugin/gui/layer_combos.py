"""Following a layer combo box without touching the layer it reports.

When a project is cleared, QGIS deletes the layers before the combo boxes have
let go of them, and a combo reports a change of layer with a pointer to one
already gone: PyQt wrapping that pointer for a Python slot crashed QGIS (seen
when closing a project with the panel open). So the slot here takes no argument,
and the callback runs once the change is over, reading the combo's layer then.
"""
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSlot


class _Relay(QObject):
    def __init__(self, combo, callback, at_once):
        super().__init__(combo)  # goes with the combo
        self.combo, self.callback, self.at_once = combo, callback, at_once
        self.pending = False
        combo.layerChanged.connect(self.changed)

    @pyqtSlot()
    def changed(self) -> None:
        if self.at_once:
            self.callback()
        elif not self.pending:  # a burst of changes (a project loading or closing) calls back once
            self.pending = True
            QTimer.singleShot(0, self.call)

    def call(self) -> None:
        self.pending = False
        if not sip.isdeleted(self) and not sip.isdeleted(self.combo):
            self.callback(self.combo.currentLayer())


def on_layer_change(combo, callback) -> None:
    """Call ``callback(layer)`` with ``combo``'s current layer soon after it changes (see the module's text)."""
    _Relay(combo, callback, at_once=False)


def at_layer_change(combo, callback) -> None:
    """Call ``callback()`` as soon as ``combo``'s layer changes, for a callback that does not need the layer."""
    _Relay(combo, callback, at_once=True)
