"""QGIS entry point. QGIS imports this folder as a package and calls classFactory."""


def classFactory(iface):  # noqa: N802 - name fixed by QGIS
    from .ev_charge_plugin.plugin import EvChargePlugin

    return EvChargePlugin(iface)
