"""The bridge between core frames and QGIS: layers, network, symbology."""
