"""Where the plugin keeps the layers it makes: GeoPackages in a folder, not temporary memory layers."""
from pathlib import Path

import pytest
from qgis.core import QgsApplication, QgsProject

from ev_charge_plugin.qgis_io.project import discard_layer_file, layer_folder, new_layer_file
from ev_charge_plugin.toolbelt.settings import PluginSettings

pytestmark = pytest.mark.qgis


@pytest.fixture
def project(qgis_app):
    QgsProject.instance().clear()
    yield QgsProject.instance()
    QgsProject.instance().clear()


@pytest.fixture
def chosen_folder():
    """``chosen_folder(path)`` sets the folder in the plugin's settings; it is reset afterwards."""
    def choose(path):
        settings = PluginSettings.load()
        settings.layer_folder = str(path)
        settings.save()

    yield choose
    choose("")


def test_an_unsaved_project_keeps_them_in_the_qgis_profile(project):
    assert layer_folder() == Path(QgsApplication.qgisSettingsDirPath()) / "ev_charge_points" / "layers"


def test_a_saved_project_keeps_them_beside_its_file(project, tmp_path):
    assert project.write(str(tmp_path / "camden.qgz"))
    path = Path(new_layer_file("Charge points: Camden (2024)"))
    assert path.parent == tmp_path / "ev_charge_layers" and path.parent.is_dir()
    assert path.name.startswith("charge_points_camden_2024_") and path.suffix == ".gpkg"


def test_the_folder_chosen_in_the_settings_wins(project, tmp_path, chosen_folder):
    assert project.write(str(tmp_path / "camden.qgz"))
    chosen_folder(tmp_path / "shared drive")
    assert Path(new_layer_file("chargepoints")).parent == tmp_path / "shared drive"


def test_names_handed_out_are_never_the_same_or_an_existing_file(project, tmp_path):
    assert project.write(str(tmp_path / "camden.qgz"))
    first = new_layer_file("utilisation")
    Path(first).write_bytes(b"")
    names = {first, new_layer_file("utilisation"), new_layer_file("utilisation")}
    assert len(names) == 3


def test_discarding_removes_only_a_file_handed_out_and_its_sidecars(project, tmp_path):
    assert project.write(str(tmp_path / "camden.qgz"))
    handed_out = new_layer_file("utilisation")
    for name in (handed_out, handed_out + "-wal", handed_out + "-shm"):
        Path(name).write_bytes(b"partial")
    users_own = tmp_path / "ev_charge_layers" / "my_layer.gpkg"
    users_own.write_bytes(b"keep me")
    assert discard_layer_file(handed_out)
    assert sorted(path.name for path in (tmp_path / "ev_charge_layers").iterdir()) == ["my_layer.gpkg"]
    assert not discard_layer_file(str(users_own)) and users_own.read_bytes() == b"keep me"
    assert not discard_layer_file(handed_out)  # once only
