"""The Qt desktop app: main window, thumbnail grid, viewer, prediction panel, review and the worker.

Everything model-related goes through `medgrad_desktop.core`; everything slow goes through
`medgrad_desktop.ui.worker.ModelWorker`. Nothing outside this package imports Qt.
"""
