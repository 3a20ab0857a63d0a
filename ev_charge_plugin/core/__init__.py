"""Pure-Python logic: schema, readers, validation, the Datastore client, demo data.

Nothing in this package imports ``qgis``; it runs in a plain interpreter.
"""
