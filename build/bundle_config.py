"""What goes into the PyInstaller bundle, kept apart from `medgrad.spec` so tests can check it without
running PyInstaller (`tests/bundle/test_bundle_spec.py`) and so the variant scripts share one list.

Every rule here is a measured fix or a measured saving, not a guess:
- torchvision's compiled ops: PyInstaller's torchvision hook (pyinstaller-hooks-contrib) still expects
  the older module names, so with torch 2.14 / torchvision 0.29 `torchvision._C_stable` and
  `torchvision.image_stable` must be named as hidden imports or `import torchvision` fails when frozen.
- GDCM (python-gdcm, the DICOM JPEG decoder) is named as a hidden import; its libraries sit beside its
  extension module (`_gdcm/`, found through its RPATH), which PyInstaller follows without a hook.
- open_clip reads `model_configs/*.json` and its BPE vocabulary from its package folder at runtime.
- The app imports the export dialog by name (`importlib.import_module`), so the UI, reports and core
  packages are collected as whole packages rather than trusted to the import graph.
- triton (about 0.9 GB) is only for `torch.compile` on a GPU, which the app never uses; tests, headers
  and CMake files are build-time only.
- CUDA files no code path of the app loads (checked with `readelf -d` for what torch links and with the
  app's own use of CUDA): the "alt" NVRTC build, multi-GPU cuSOLVER, the profiler's perf libraries,
  device bitcode for JIT linking, the FFTW/BLAS drop-in wrappers. GPU inference keeps working.
- torch's own libraries carry their symbol tables (about 170 MB): stripped after collection.
- Variant "cpu" (MEDGRAD_BUNDLE_VARIANT=cpu): the same wheels without the libraries only a GPU run
  loads on demand (cuDNN's engines, cuSOLVER and torch's CUDA linear algebra, about 1.2 GB), and a
  runtime hook hides every GPU so nothing tries to load them. What torch links at import (cuBLAS, cuFFT,
  NCCL, cuSPARSE ...) must stay even there: without them `import torch` fails. A bundle from the
  PyTorch CPU wheels (`build/variant.sh cpu`) needs none of them, where that index is reachable.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
from pathlib import Path

APP_NAME = "MedGradDesktop"  # folder and executable name in build/dist
DISPLAY_NAME = "MedGrad Desktop"
APP_ID = "org.medgrad.desktop"  # reverse-DNS id (.desktop file, macOS bundle identifier)
ROOT = Path(__file__).resolve().parent.parent
ENTRY_SCRIPT = ROOT / "main.py"
ICON_DIR = ROOT / "build" / "icons"  # .ico/.icns for the executables, made from resources/icons/medgrad.png

# Packages of the app imported by name or needed whole. `evaluation`, `training`, `data` and the CLI
# are left to the import graph: the GUI does not use them, and they would pull in matplotlib.
APP_PACKAGES = ("medgrad_desktop.ui", "medgrad_desktop.reports", "medgrad_desktop.core")

HIDDEN_IMPORTS = (
    "torchvision._C_stable",
    "torchvision.image_stable",
    # the DICOM JPEG / JPEG-LS / JPEG 2000 decoder: pydicom imports it inside a try, so a bundle without
    # it would still start and only refuse those files as "decoder not installed"
    "gdcm",
)

# Modules torch imports only if present (it checks and falls back): left out, and the app must work
# without them (tests/bundle/test_bundle_spec.py imports the GUI with them blocked).
OPTIONAL_EXCLUDES = ("triton",)
# Modules the GUI never imports: test tooling, notebooks, plotting, unused Qt modules.
UNUSED_EXCLUDES = (
    "torch.utils.tensorboard",
    "tensorboard",
    "pytest",
    "_pytest",
    "hypothesis",
    "pytestqt",
    "IPython",
    "jupyter",
    "notebook",
    "tkinter",
    "_tkinter",
    "matplotlib",
    "pandas",
    # the reader study's statistics: `medgrad study analyze` runs from the installed package; the GUI
    # only reads (ui/dialogs/reading_window.py) and never analyses
    "statsmodels",
    "patsy",
    "formulaic",
    "sympy.testing",
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.Qt3DCore",
    "PySide6.QtMultimedia",
    "PySide6.QtCharts",
    "PySide6.QtDataVisualization",
    "PySide6.QtBluetooth",
    "PySide6.QtPositioning",
    "PySide6.QtSql",
    "PySide6.QtDesigner",
    "hf_xet",  # huggingface_hub's download accelerator: the app never downloads (imported only to fetch)
    "readline",  # line editing for an interactive prompt; it would carry libreadline (GPL-3.0) along
)
EXCLUDES = OPTIONAL_EXCLUDES + UNUSED_EXCLUDES

# Destination paths (inside the bundle) that are dropped from what the hooks collected.
DROP_PATTERNS = (
    "triton/*",
    "*/include/*",
    "include/*",
    "*.h",
    "*.hpp",
    "*.cuh",
    "*.cmake",
    "*.a",
    "*.lib",
    "torch/*.pyi",  # not elsewhere: scikit-image's lazy_loader reads its __init__.pyi at import
    "torch/share/cmake/*",
    "*/tests/*",
    "*/test/*",
    "torch/testing/_internal/*",
    "PySide6/Qt/qml/*",
    "PySide6/Qt/translations/qtwebengine*",
)

# CUDA files that no path of the app loads, on a GPU or not (see the module docstring).
UNUSED_CUDA_PATTERNS = (
    "nvidia/*/lib/libnvrtc.alt.so*",
    "nvidia/*/lib/libnvrtc-builtins.alt.so*",
    "nvidia/*/lib/libcusolverMg.so*",
    "nvidia/*/lib/libnvperf_host.so",
    "nvidia/*/lib/libnvperf_target.so",
    "nvidia/*/lib/libpcsamplingutil.so",
    "nvidia/*/lib/libcufftw.so*",
    "nvidia/*/lib/libnvblas.so*",
    "nvidia/*/lib/libcheckpoint.so",
    "nvidia/*/lib/*.bc",
)

VARIANTS = ("gpu", "cpu")
VARIANT_ENV = "MEDGRAD_BUNDLE_VARIANT"
# Loaded only when a GPU computes (cuDNN opens its engines on the first convolution; torch opens its CUDA
# linear algebra on the first CUDA linalg call): dropped from the "cpu" variant only. libcudnn.so.9
# itself stays: libtorch_cuda.so links it.
GPU_ONLY_PATTERNS = (
    "nvidia/cudnn/lib/libcudnn_*.so*",
    "nvidia/*/lib/libcusolver.so*",
    "torch/lib/libtorch_cuda_linalg.so",
)


# Bundled packages under a strong copyleft licence (GPL without a linking exception), each with the
# reason it is still shipped. build/notices.py stops the build for any other such package, and
# tests/bundle/test_notices.py for any such package the runtime requirements pull in.
ACKNOWLEDGED_COPYLEFT: dict[str, str] = {}


def version(root: Path = ROOT) -> str:
    """pyproject.toml's [project].version: the one version of the app, its bundle and its installers."""
    import tomllib

    with (root / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]["version"]


def _import_names(dist) -> set[str]:
    """Top-level import names a distribution installs (top_level.txt, else its RECORD)."""
    top = dist.read_text("top_level.txt")
    if top:
        return {n.strip() for n in top.split() if n.strip()}
    names = set()
    for f in dist.files or []:
        first = f.parts[0]
        if first.endswith((".dist-info", ".data", ".libs")) or first in ("..", "__pycache__", "bin"):
            continue
        names.add(first[:-3] if first.endswith(".py") else first.split(".")[0])
    return names


def not_runtime_modules(root: Path = ROOT) -> tuple[str, ...]:
    """Import names of every installed distribution the app's runtime requirements (pyproject) do not pull
    in: the `dev` extra (test runners, linters, PyInstaller itself, PDF reading for tests) and whatever
    else the building environment holds (an evaluation toolkit such as quantus, GPL-3.0). They are
    excluded from the bundle, so none of them, nor their licences, reaches it through an optional
    import; a module the app imports must come from a declared requirement (tests/bundle checks the GUI
    imports none of these)."""
    import importlib.metadata as md
    import sys
    import tomllib

    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from medgrad_desktop.licences.components import APP_DISTRIBUTION, canonical, requirement_closure

    with (root / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f)["project"]
    runtime = requirement_closure(project["dependencies"])
    keep = set().union(*(_import_names(d) for d in runtime.values())) if runtime else set()
    names: set[str] = set()
    for dist in md.distributions():
        key = canonical(dist.metadata["Name"] or "")
        if key and key not in runtime and key != APP_DISTRIBUTION:
            names |= _import_names(dist)
    return tuple(sorted(n for n in names - keep if n.isidentifier()))


NOTICES_NAME = "THIRD-PARTY-NOTICES.txt"


def write_notices(tocs: list, workpath: Path, variant: str) -> Path:
    """THIRD-PARTY-NOTICES.txt for the collected TOCs (build/notices.py), written into `workpath`;
    stops the build when a collected file has no owner or an unacknowledged copyleft package is in."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("medgrad_notices", ROOT / "build" / "notices.py")
    notices = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(notices)
    out = Path(workpath) / NOTICES_NAME
    count = notices.write_notices(notices.toc_sources(*tocs), out, version(), variant, ACKNOWLEDGED_COPYLEFT)
    print(f"{NOTICES_NAME}: {count} third-party components")
    return out


def variant() -> str:
    """The bundle variant asked for in the environment (default "gpu"), checked."""
    v = os.environ.get(VARIANT_ENV, "gpu").strip().lower() or "gpu"
    if v not in VARIANTS:
        raise SystemExit(f"error: {VARIANT_ENV}={v!r}; choose one of {', '.join(VARIANTS)}")
    return v


# Qt platform plugins the app needs: `xcb` for a desktop session, `offscreen` for --self-test and CI,
# `wayland` where present. Other plugin folders are left to PySide6's hook.
QT_PLATFORMS = (
    "libqxcb.so",
    "libqoffscreen.so",
    "libqwayland*.so",
    "qwindows.dll",
    "qoffscreen.dll",
    "libqcocoa.dylib",
    "libqoffscreen.dylib",
)


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


def _matches(dest: str, patterns: tuple[str, ...]) -> bool:
    d = dest.replace("\\", "/")
    return any(fnmatch.fnmatch(d, pat) for pat in patterns)


def keep(dest: str, variant: str = "gpu") -> bool:
    """True for a bundle destination path the app of `variant` needs."""
    if is_dropped(dest) or is_unwanted_qt_platform(dest) or _matches(dest, UNUSED_CUDA_PATTERNS):
        return False
    return not (variant == "cpu" and _matches(dest, GPU_ONLY_PATTERNS))


def _has_debug_info(lib: Path) -> bool:
    """True for an ELF file with DWARF sections (readelf; False where readelf is missing)."""
    readelf = shutil.which("readelf")
    if readelf is None:
        return False
    out = subprocess.run([readelf, "-S", "-W", str(lib)], capture_output=True, text=True).stdout
    return ".debug_info" in out


def strip_torch_libraries(app_dir: Path) -> int:
    """Strip the symbol tables of torch's own libraries in a built bundle (the dynamic symbols that
    linking needs stay), and the DWARF debug sections of any CUDA library that ships them (NCCL, BSD
    licensed, carries about 50 MB; NVIDIA's other libraries come without). Linux only. Returns the
    bytes saved; 0 where `strip` is missing or not Linux."""
    strip = shutil.which("strip")
    internal = Path(app_dir) / "_internal"
    libs = sorted(internal.glob("torch/lib/libtorch*.so")) + sorted(internal.glob("torch/lib/libc10*.so"))
    debug = [p for p in sorted(internal.glob("nvidia/*/lib/*.so*")) if p.is_file() and _has_debug_info(p)]
    if strip is None or not (libs or debug) or os.uname().sysname != "Linux":
        return 0
    before = sum(p.stat().st_size for p in libs + debug)
    if libs:
        subprocess.run([strip, "--strip-unneeded", *map(str, libs)], check=True)
    if debug:
        subprocess.run([strip, "--strip-debug", *map(str, debug)], check=True)
    return before - sum(p.stat().st_size for p in libs + debug)
