"""What the dialog tests share: a dialog opened as a user finds it, and put away after."""
import pytest
from qgis.core import QgsProject, QgsSettings


@pytest.fixture
def forget_settings():
    """``forget_settings(*keys)``: remove these remembered choices now and again after the test."""
    keys = []

    def forget(*more):
        keys.extend(more)
        for key in more:
            QgsSettings().remove(key)

    yield forget
    for key in keys:
        QgsSettings().remove(key)


@pytest.fixture
def open_dialog(qtbot, qgis_app, tmp_path, monkeypatch):
    """``open_dialog(DialogClass)``: a new dialog on an empty project; afterwards any run is cancelled and the project cleared."""
    monkeypatch.setenv("EVCHARGE_CACHE_DIR", str(tmp_path / "cache"))
    QgsProject.instance().clear()
    opened = []

    def open_(dialog_class):
        widget = dialog_class()
        qtbot.addWidget(widget)
        opened.append(widget)
        return widget

    yield open_
    for widget in opened:
        if widget.run is not None:
            widget.cancel()
            qtbot.waitUntil(lambda widget=widget: widget.run is None, timeout=30000)
    QgsProject.instance().clear()
