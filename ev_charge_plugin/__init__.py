"""London EV Charge Points: a QGIS plugin for planning a city's charging network.

``core`` is plain Python (no QGIS); ``qgis_io``, ``processing``, ``gui`` and
``report`` are the QGIS side.
"""
