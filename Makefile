# London EV Charge Points - every target installs what it needs through `setup`.
# Debian 12: `make demo` runs the plugin's main job on the demo data, `make test` the suite.

PYTHON     := /usr/bin/python3
PLUGIN     := ev_charge_points
BUILD      := build
PROFILE    ?= default
PROFILES   ?= $(HOME)/.local/share/QGIS/QGIS3/profiles
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
HEADLESS   := QT_QPA_PLATFORM=offscreen
DEBS := qgis python3-qgis python3-geopandas python3-rtree python3-pyqtgraph python3-scipy \
        python3-requests python3-pytest python3-pytestqt python3-pytest-httpserver \
        python3-hypothesis python3-openpyxl python3-odf poppler-utils pyqt5-dev-tools \
        qttools5-dev-tools xvfb xauth python3-venv
VENV       := $(BUILD)/venv

.PHONY: setup demo test lint run deploy package bench clean

## setup: apt-install the Debian packages that are missing (does nothing when all are there)
setup:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

## demo: build the demo dataset, load it through the plugin's loader, write build/demo/
demo: setup
	$(HEADLESS) $(PYTHON) scripts/demo.py $(BUILD)/demo

## test: the whole suite, headless
test: setup
	$(HEADLESS) $(PYTHON) -m pytest -q -p no:cacheprovider

## lint: ruff over the whole tree
lint: setup $(VENV)/bin/ruff
	$(VENV)/bin/ruff check .

## run: QGIS desktop with the plugin enabled in a throwaway profile and the demo data loaded
run: setup demo
	rm -rf $(BUILD)/profiles
	$(MAKE) --no-print-directory deploy PROFILES=$(CURDIR)/$(BUILD)/profiles PROFILE=evcharge
	$(PYTHON) scripts/qgis_profile.py enable $(CURDIR)/$(BUILD)/profiles/evcharge
	$(if $(DISPLAY),,xvfb-run -a -s "-screen 0 1600x1000x24") qgis --profiles-path $(CURDIR)/$(BUILD) --profile evcharge \
		--noversioncheck --code scripts/open_demo.py

## deploy: install the plugin into a QGIS profile (PROFILE=default, PROFILES=~/.local/share/QGIS/QGIS3/profiles)
deploy: setup package
	rm -rf "$(PROFILES)/$(PROFILE)/python/plugins/$(PLUGIN)"
	mkdir -p "$(PROFILES)/$(PROFILE)/python/plugins"
	cd "$(PROFILES)/$(PROFILE)/python/plugins" && $(PYTHON) -m zipfile -e "$(CURDIR)/$(BUILD)/dist/$(PLUGIN).zip" .
	@echo "Installed into $(PROFILES)/$(PROFILE)/python/plugins/$(PLUGIN); enable it in Plugins > Manage and Install Plugins."

## package: the zip the QGIS plugin repository accepts, in build/dist/
package: setup $(VENV)/bin/detect-secrets
	$(PYTHON) scripts/package.py $(BUILD)/dist/$(PLUGIN).zip
	$(VENV)/bin/bandit -q -r -ll $(BUILD)/dist/$(PLUGIN)
	cd $(BUILD)/dist/$(PLUGIN) && $(CURDIR)/$(VENV)/bin/detect-secrets scan --all-files > ../secrets.json
	$(PYTHON) -c "import json,sys; found=json.load(open('$(BUILD)/dist/secrets.json'))['results']; sys.exit('detect-secrets found: %s' % found if found else 0)"

# bandit, detect-secrets and ruff come from PyPI, kept out of the interpreter QGIS uses.
$(VENV)/bin/detect-secrets $(VENV)/bin/ruff:
	$(PYTHON) -m venv --system-site-packages $(VENV)
	$(VENV)/bin/pip install -q bandit detect-secrets ruff

## bench: benchmarks, printed as ratios to a baseline measured in the same run
bench: setup
	$(HEADLESS) $(PYTHON) bench/bench_load.py
	$(HEADLESS) $(PYTHON) bench/bench_usage.py
	$(HEADLESS) $(PYTHON) bench/bench_areas.py
	$(HEADLESS) $(PYTHON) bench/bench_dock.py
	$(HEADLESS) $(PYTHON) bench/bench_siting.py
	$(HEADLESS) $(PYTHON) bench/bench_report.py

clean:
	rm -rf $(BUILD)
