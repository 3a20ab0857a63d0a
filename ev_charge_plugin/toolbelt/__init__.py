"""Plugin plumbing shared by the QGIS side: metadata, settings, logging, tasks."""
