"""MedGrad Desktop. `__version__` is pyproject.toml's [project].version, the one place a version is
written (a release tag writes it there: build/version.py --set): read from that file in a source
checkout, so it is current even before a reinstall, else from the installed or bundled metadata."""

from __future__ import annotations


def _version() -> str:
    from pathlib import Path

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        with pyproject.open("rb") as f:
            return tomllib.load(f)["project"]["version"]
    from importlib.metadata import version

    return version("medgrad-desktop")


__version__ = _version()
