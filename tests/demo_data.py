"""The demo GeoPackage's layers for tests (the files come from the ``demo_files`` fixture in conftest.py)."""


def demo_layers(gpkg, *names) -> dict:
    """The demo GeoPackage's layers ``names``, by name."""
    from qgis.core import QgsVectorLayer

    layers = {name: QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr") for name in names}
    assert all(layer.isValid() for layer in layers.values())
    return layers
