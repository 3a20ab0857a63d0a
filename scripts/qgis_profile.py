"""Enable the plugin in a QGIS profile (used by `make run` on a throwaway profile)."""
import configparser
import sys
from pathlib import Path

PLUGIN = "ev_charge_points"


def enable(profile: Path) -> None:
    ini = profile / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True, exist_ok=True)
    config = configparser.ConfigParser(interpolation=None)
    config.optionxform = str  # QGIS keys are case-sensitive
    config.read(ini)
    for section, key, value in (("PythonPlugins", PLUGIN, "true"), ("qgis", "checkVersion", "false"), ("UI", "hideSplash", "true")):
        config.setdefault(section, {})
        config[section][key] = value
    with ini.open("w") as handle:
        config.write(handle, space_around_delimiters=False)


if __name__ == "__main__" and sys.argv[1] == "enable":
    enable(Path(sys.argv[2]))
