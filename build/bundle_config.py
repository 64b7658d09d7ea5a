"""What goes into the PyInstaller bundle, kept apart from `medgrad.spec` so tests can check it without
running PyInstaller (`tests/test_bundle_spec.py`) and so the variant scripts share one list.

Every rule here is a measured fix or a measured saving, not a guess:
- torchvision's compiled ops: PyInstaller's torchvision hook (pyinstaller-hooks-contrib) still expects
  the older module names, so with torch 2.14 / torchvision 0.29 `torchvision._C_stable` and
  `torchvision.image_stable` must be named as hidden imports or `import torchvision` fails when frozen.
- open_clip reads `model_configs/*.json` and its BPE vocabulary from its package folder at runtime.
- The app imports the export dialog by name (`importlib.import_module`), so the UI, reports and core
  packages are collected as whole packages rather than trusted to the import graph.
- triton (about 0.9 GB) is only for `torch.compile` on a GPU, which the app never uses; tests, headers
  and CMake files are build-time only.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

APP_NAME = "MedGradDesktop"          # folder and executable name in build/dist
DISPLAY_NAME = "MedGrad Desktop"
APP_ID = "org.medgrad.desktop"       # reverse-DNS id (.desktop file, macOS bundle identifier)
ROOT = Path(__file__).resolve().parent.parent
ENTRY_SCRIPT = ROOT / "main.py"
ICON_DIR = ROOT / "build" / "icons"  # .ico/.icns for the executables, made from resources/icons/medgrad.png

# Packages of the app imported by name or needed whole. `evaluation`, `training`, `data` and the CLI
# are left to the import graph: the GUI does not use them, and they would pull in matplotlib.
APP_PACKAGES = ("medgrad_desktop.ui", "medgrad_desktop.reports", "medgrad_desktop.core")

HIDDEN_IMPORTS = (
    "torchvision._C_stable",
    "torchvision.image_stable",
)

# Modules torch imports only if present (it checks and falls back): left out, and the app must work
# without them (tests/test_bundle_spec.py imports the GUI with them blocked).
OPTIONAL_EXCLUDES = ("triton",)
# Modules the GUI never imports: test tooling, notebooks, plotting, unused Qt modules.
UNUSED_EXCLUDES = (
    "torch.utils.tensorboard", "tensorboard",
    "pytest", "_pytest", "hypothesis", "pytestqt", "IPython", "jupyter", "notebook",
    "tkinter", "_tkinter", "matplotlib", "pandas", "sympy.testing",
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtQml", "PySide6.QtQuick",
    "PySide6.Qt3DCore", "PySide6.QtMultimedia", "PySide6.QtCharts", "PySide6.QtDataVisualization",
    "PySide6.QtBluetooth", "PySide6.QtPositioning", "PySide6.QtSql", "PySide6.QtDesigner",
)
EXCLUDES = OPTIONAL_EXCLUDES + UNUSED_EXCLUDES

# Destination paths (inside the bundle) that are dropped from what the hooks collected.
DROP_PATTERNS = (
    "triton/*",
    "*/include/*", "include/*",
    "*.h", "*.hpp", "*.cuh", "*.cmake", "*.a", "*.lib",
    "torch/*.pyi",  # not elsewhere: scikit-image's lazy_loader reads its __init__.pyi at import
    "torch/share/cmake/*",
    "*/tests/*", "*/test/*", "torch/testing/_internal/*",
    "PySide6/Qt/qml/*", "PySide6/Qt/translations/qtwebengine*",
)

# Qt platform plugins the app needs: `xcb` for a desktop session, `offscreen` for --self-test and CI,
# `wayland` where present. Other plugin folders are left to PySide6's hook.
QT_PLATFORMS = ("libqxcb.so", "libqoffscreen.so", "libqwayland*.so", "qwindows.dll", "qoffscreen.dll",
                "libqcocoa.dylib", "libqoffscreen.dylib")


def resource_datas(root: Path = ROOT) -> list[tuple[str, str]]:
    """(source, destination folder) pairs for the app's own `resources/` tree, file by file, so a
    missing demo model shows up as missing rather than as an empty folder."""
    res = root / "resources"
    out = []
    for p in sorted(res.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith("."):
            out.append((str(p), str(p.parent.relative_to(root))))
    return out


def open_clip_datas() -> list[tuple[str, str]]:
    """open_clip's model configs and BPE vocabulary, read from the package folder at runtime."""
    import open_clip

    pkg = Path(open_clip.__file__).resolve().parent
    files = sorted((pkg / "model_configs").glob("*.json")) + sorted(pkg.glob("*.txt.gz"))
    return [(str(f), str(f.parent.relative_to(pkg.parent))) for f in files]


def is_dropped(dest: str) -> bool:
    """True for a bundle destination path matched by DROP_PATTERNS (forward slashes)."""
    d = dest.replace("\\", "/")
    return any(fnmatch.fnmatch(d, pat) for pat in DROP_PATTERNS)


def is_unwanted_qt_platform(dest: str) -> bool:
    """True for a Qt platform plugin outside QT_PLATFORMS (eglfs, vnc, linuxfb, minimal ...)."""
    d = dest.replace("\\", "/")
    if "/plugins/platforms/" not in d:
        return False
    name = d.rsplit("/", 1)[-1]
    return not any(fnmatch.fnmatch(name, pat) for pat in QT_PLATFORMS)


def keep(dest: str) -> bool:
    return not (is_dropped(dest) or is_unwanted_qt_platform(dest))
