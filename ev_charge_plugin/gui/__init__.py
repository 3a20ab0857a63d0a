"""Widgets: dialogs, the options page and (later) the dock panel."""
