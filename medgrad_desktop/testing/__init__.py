"""Helpers that drive the real app from the outside: the self-test, the UI tests, the benchmarks and
the screenshot tool share them. They are kept out of `medgrad_desktop.ui` so the product package holds
only what a user runs; they import Qt and are never imported by `core`, `data` or the reports.
"""
