"""The app's screens: queue, transfer detail, add download, add upload, settings, help."""
