"""Start QGIS without a desktop, for scripts, benchmarks and tests."""
import os
import sys
from pathlib import Path

PROCESSING_PLUGINS = "/usr/share/qgis/python/plugins"


def start_qgis(register_provider: bool = True, profile_folder=None):
    """Return a running QgsApplication with Processing (and our provider) initialised.

    ``profile_folder`` keeps QGIS settings out of the user's own profile (tests).
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if PROCESSING_PLUGINS not in sys.path:
        sys.path.append(PROCESSING_PLUGINS)
    from qgis.core import QgsApplication

    if profile_folder is None:
        app = QgsApplication([], False)
    else:
        from qgis.PyQt.QtCore import QCoreApplication, QSettings

        Path(profile_folder).mkdir(parents=True, exist_ok=True)
        QCoreApplication.setOrganizationName("QGIS")
        QCoreApplication.setApplicationName("QGIS3")
        QSettings.setDefaultFormat(QSettings.IniFormat)
        QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(profile_folder))
        app = QgsApplication([], False, str(profile_folder))
    app.initQgis()
    from processing.core.Processing import Processing

    Processing.initialize()
    if register_provider:
        from ..processing.provider import EvChargeProvider

        provider = EvChargeProvider()
        QgsApplication.processingRegistry().addProvider(provider)
        app.evcharge_provider = provider  # keep the Python object alive with the app
    return app


def stop_qgis(app) -> None:
    """Release layers before QGIS goes: a layer alive at exit can segfault the process."""
    import gc
    import types

    from qgis.core import QgsProject
    from processing.core.Processing import Processing

    # QGIS (through SIP) keeps each exception a Python algorithm raised, beyond Python's
    # reach; its traceback keeps the algorithm's frames and, through them, the caller's
    # (processing.run and whoever called it), with their layers and Processing contexts.
    # Freed after QGIS, those crash the exit: empty the frames' locals now.
    for item in gc.get_objects():
        if isinstance(item, types.TracebackType):
            frame = item.tb_frame
            while frame is not None:
                try:
                    frame.clear()
                except RuntimeError:  # still running (this very call's callers): leave it and those below
                    break
                frame = frame.f_back
    gc.collect()
    QgsProject.instance().clear()
    Processing.deinitialize()
    app.exitQgis()


def run_headless(main, *args) -> None:
    """Run ``main(*args)`` inside a headless QGIS and exit with what it returns (for scripts and benchmarks)."""
    import sys

    app = start_qgis()
    try:
        status = main(*args)
    finally:
        stop_qgis(app)
    sys.exit(status)
