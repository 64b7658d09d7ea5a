"""Fast checks of the PyInstaller bundle's recipe (build/bundle_config.py, build/medgrad.spec), its
runtime hook and startup trace, and the Linux tarball scripts, without running PyInstaller. The frozen
build itself is checked by `make bundle-test` (build/bundle_test.sh)."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bundle.conftest import BUILD, ROOT, load_build_module


def test_open_clip_vocab_and_configs_are_collected_where_open_clip_reads_them(cfg):
    import open_clip

    datas = cfg.open_clip_datas()
    dests = {(Path(src).name, dest) for src, dest in datas}
    assert ("bpe_simple_vocab_16e6.txt.gz", "open_clip") in dests
    assert ("ViT-B-16.json", "open_clip/model_configs") in dests
    pkg = Path(open_clip.__file__).resolve().parent
    n_configs = len(list((pkg / "model_configs").glob("*.json")))
    assert sum(dest == "open_clip/model_configs" for _, dest in datas) == n_configs
    assert all(cfg.keep(f"{dest}/{Path(src).name}") for src, dest in datas)


def test_every_resource_file_is_collected_and_kept(cfg):
    datas = cfg.resource_datas()
    got = {str(Path(dest) / Path(src).name) for src, dest in datas}
    want = {
        str(p.relative_to(ROOT))
        for p in (ROOT / "resources").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
    }
    assert got == want
    assert "resources/catalogue.json" in got and "resources/model_configs/MedGrad-Tiny.json" in got
    demo_model = ROOT / "resources" / "demo" / "model" / "demo-model.safetensors"
    if demo_model.exists():
        assert "resources/demo/model/demo-model.safetensors" in got
        assert "resources/demo/model/demo-model.card.json" in got
    assert [d for d in got if not cfg.keep(d)] == []
    assert "resources/icons/medgrad.png" in got  # the window icon, also the tarball's menu icon


def test_frozen_layout_serves_catalogue_and_model_configs(cfg, tmp_path, monkeypatch):
    """Lay the collected resources out as PyInstaller does under _MEIPASS and load them from there."""
    for src, dest in cfg.resource_datas():
        (tmp_path / dest).mkdir(parents=True, exist_ok=True)
        shutil.copy(src, tmp_path / dest)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    from medgrad_desktop.core.prompts import load_catalogue
    from medgrad_desktop.resources_path import demo_dir, resources_dir

    assert resources_dir() == tmp_path / "resources"
    assert demo_dir() == tmp_path / "resources" / "demo"
    assert load_catalogue().classes
    from medgrad_desktop.core.model import load_model

    clip = load_model(random_init=True, architecture="MedGrad-Tiny", device="cpu")
    assert clip.card.architecture == "MedGrad-Tiny"


@pytest.mark.parametrize(
    "dest",
    [
        "triton/backends/nvidia/lib/libcuda.so",
        "torch/include/ATen/ATen.h",
        "torch/share/cmake/Torch/TorchConfig.cmake",
        "numpy/_core/tests/test_umath.py",
        "torch/testing/_internal/common_utils.py",
        "torch/_C/__init__.pyi",
        "PySide6/Qt/plugins/platforms/libqeglfs.so",
        "PySide6/Qt/plugins/platforms/libqvnc.so",
        "PySide6/Qt/qml/QtQuick/qmldir",
    ],
)
def test_build_only_files_are_dropped(cfg, dest):
    assert not cfg.keep(dest)


@pytest.mark.parametrize(
    "dest",
    [
        "torch/lib/libtorch_cpu.so",
        "torch/lib/libc10.so",
        "torch/nn/modules/linear.py",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/imageformats/libqjpeg.so",
        "torchvision/_C.so",
        "open_clip/bpe_simple_vocab_16e6.txt.gz",
        "nvidia/cu13/lib/libcublas.so.13",
        "resources/demo/model/demo-model.card.json",
        "skimage/__init__.pyi",
        "skimage/filters/__init__.pyi",  # lazy_loader stubs, read at import
    ],
)
def test_runtime_files_are_kept(cfg, dest):
    assert cfg.keep(dest)


def test_hidden_imports_name_modules_that_exist(cfg):
    """torchvision's compiled ops under the names PyInstaller's hook misses; if torchvision renames
    them again this fails here, not in a frozen app."""
    for name in cfg.HIDDEN_IMPORTS:
        assert importlib.util.find_spec(name) is not None, f"{name}: gone; update build/bundle_config.py"
    assert {"torchvision._C_stable", "torchvision.image_stable"} <= set(cfg.HIDDEN_IMPORTS)


def test_the_ui_imports_its_modules_statically(cfg):
    """PyInstaller follows static imports; a module the UI imported by its name would be in the frozen
    app only if it lay in APP_PACKAGES. The UI imports every module statically, the export dialog too."""
    imported: set[str] = set()
    for path in sorted((ROOT / "medgrad_desktop" / "ui").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        by_name = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and getattr(n.func, "attr", "") in ("import_module", "find_spec")
        ]
        assert not by_name, f"{path.relative_to(ROOT)} imports a module by its name"
        imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "medgrad_desktop.ui.dialogs.export_dialog" in imported
    assert "medgrad_desktop.ui" in cfg.APP_PACKAGES


def test_the_spec_collects_the_app_packages_with_their_subpackages(cfg):
    """The spec hands each package of APP_PACKAGES to `collect_submodules`, which walks subpackages
    only where they hold an `__init__.py`: every folder of Python modules under them must be a package,
    or its modules would be missing from the frozen app."""
    spec = ast.parse((BUILD / "medgrad.spec").read_text(encoding="utf-8"))
    loops = [
        n for n in ast.walk(spec) if isinstance(n, ast.For) and ast.unparse(n.iter) == "cfg.APP_PACKAGES"
    ]
    assert loops and "collect_submodules(pkg)" in ast.unparse(loops[0])
    for pkg in cfg.APP_PACKAGES:
        top = ROOT / pkg.replace(".", "/")
        folders = {p.parent for p in top.rglob("*.py") if "__pycache__" not in p.parts}
        missing = sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists())
        assert not missing, f"folders without __init__.py (not collected): {missing}"


def test_gui_works_without_optional_and_imports_no_unused_excluded_module(cfg):
    """Import what the frozen app imports with the optional modules (triton) blocked, as in the bundle,
    run a forward pass, and check no module of UNUSED_EXCLUDES was imported (else the frozen app would
    fail with ModuleNotFoundError where the source runs)."""
    code = (
        "import sys\n"
        f"BLOCK = {tuple(cfg.OPTIONAL_EXCLUDES)!r}\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCK: raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import medgrad_desktop.ui.launch, medgrad_desktop.ui.main_window, medgrad_desktop.ui.selftest.runner\n"
        "import medgrad_desktop.ui.selftest.report_check, medgrad_desktop.reports.pdf_writer\n"
        "import medgrad_desktop.reports.html_writer, medgrad_desktop.reports.csv_writer\n"
        "import medgrad_desktop.ui.dialogs.study_start, medgrad_desktop.ui.dialogs.reading_window\n"
        "import medgrad_desktop.ui.work.reading_case, medgrad_desktop.study.session\n"
        "import open_clip, torchvision, numpy as np\n"
        "from medgrad_desktop.core.model import load_model\n"
        "from medgrad_desktop.core.explain import analyze, default_params, METHODS\n"
        "clip = load_model(random_init=True, architecture='MedGrad-Tiny', device='cpu')\n"
        "rgb = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)\n"
        "r = analyze(clip, rgb, clip.catalogue.class_targets()[:2], [default_params(m) for m in METHODS])\n"
        "assert len(r.maps) == 6, r.maps.keys()\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    mods = r.stdout.split()
    assert not any(m.split(".")[0] in cfg.OPTIONAL_EXCLUDES for m in mods)
    hit = [m for m in mods for ex in cfg.UNUSED_EXCLUDES if m == ex or m.startswith(ex + ".")]
    assert hit == [], f"the GUI imports excluded modules {hit}; remove them from UNUSED_EXCLUDES"
    # packages the runtime requirements do not pull in are excluded too: the GUI must not need one
    undeclared = set(cfg.not_runtime_modules())
    hit = sorted({m.split(".")[0] for m in mods} & undeclared)
    assert hit == [], f"the GUI imports {hit}, which no runtime requirement in pyproject.toml provides"


def test_spec_uses_config_filters_and_existing_hooks():
    tree = ast.parse((BUILD / "medgrad.spec").read_text(encoding="utf-8"))
    text = ast.unparse(tree)
    for needed in (
        "cfg.keep",
        "cfg.resource_datas()",
        "cfg.open_clip_datas()",
        "cfg.HIDDEN_IMPORTS",
        "cfg.EXCLUDES",
        "exclude_binaries=True",
        "COLLECT(",
        "rth_medgrad.py",
    ):
        assert needed in text, needed
    assert (BUILD / "hooks" / "rth_medgrad.py").is_file()
    assert (BUILD / "hooks" / "medgrad_startup_trace.py").is_file()
    assert (BUILD / "icons" / "medgrad.ico").is_file() and (BUILD / "icons" / "medgrad.icns").is_file()


def test_installer_icons_are_made_from_the_app_icon():
    from PIL import Image

    app = Image.open(ROOT / "resources" / "icons" / "medgrad.png").convert("RGBA")
    ico = Image.open(BUILD / "icons" / "medgrad.ico").convert("RGBA")  # its largest size
    a, b = app.resize((64, 64)).tobytes(), ico.resize((64, 64)).tobytes()
    diff = sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)
    assert diff < 8, (
        f"build/icons/medgrad.ico differs from the app icon (mean {diff:.1f}); run build/make_icons.py"
    )


def test_startup_trace_records_show_then_first_prediction(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMainWindow

    monkeypatch.syspath_prepend(str(BUILD / "hooks"))
    monkeypatch.setenv("MEDGRAD_STARTUP_TRACE_STAY", "1")
    trace = load_build_module("hooks/medgrad_startup_trace.py", "medgrad_startup_trace_t")
    monkeypatch.setattr(QMainWindow, "show", QMainWindow.show)  # restored after the test
    # no write at this process's exit, when tmp_path may be gone: the poll's write is what is tested
    monkeypatch.setattr(trace.atexit, "register", lambda *args: None)
    out = tmp_path / "trace.json"
    trace.install(str(out))

    class Entry:
        prediction = None

    win = QMainWindow()
    qtbot.addWidget(win)
    win.model, win.entries = None, [Entry(), Entry()]
    win.show()
    qtbot.waitUntil(lambda: "shown" in trace._times, timeout=5000)
    qtbot.wait(50)
    assert not out.exists(), "written before any prediction"
    win.model = object()
    win.entries[1].prediction = "p"
    qtbot.waitUntil(out.exists, timeout=5000)
    t = json.loads(out.read_text())
    assert t["trace_installed"] <= t["show_called"] <= t["shown"] <= t["first_prediction"]
    assert t["model"] <= t["first_prediction"] and t["images"] == 2


def _fake_app(folder: Path) -> Path:
    app = folder / "MedGradDesktop"
    (app / "_internal" / "resources").mkdir(parents=True)
    exe = app / "MedGradDesktop"
    exe.write_text("#!/bin/sh\necho fake\n")
    exe.chmod(0o755)
    return app


@pytest.mark.skipif(shutil.which("bash") is None or sys.platform == "win32", reason="needs bash")
def test_tarball_holds_app_desktop_entry_and_icon_and_installs(tmp_path):
    app = _fake_app(tmp_path / "dist")
    out = (
        subprocess.run(
            [str(BUILD / "linux" / "make_tarball.sh"), str(app), str(tmp_path / "out"), "cpu"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    tarball = Path(out)
    assert tarball.is_file() and "-linux-" in tarball.name and "-cpu.tar." in tarball.name
    unpack = tmp_path / "unpacked"
    unpack.mkdir()
    if tarball.name.endswith(".zst"):
        subprocess.run(f"zstd -dc '{tarball}' | tar -C '{unpack}' -xf -", shell=True, check=True)
    else:
        subprocess.run(["tar", "-C", str(unpack), "-xzf", str(tarball)], check=True)
    (top,) = list(unpack.iterdir())
    for name in (
        "MedGradDesktop/MedGradDesktop",
        "install.sh",
        "medgrad.png",
        "medgrad-desktop.desktop.in",
        "README.txt",
    ):
        assert (top / name).exists(), name
    share = tmp_path / "share"
    subprocess.run(
        [str(top / "install.sh")],
        env=dict(os.environ, XDG_DATA_HOME=str(share)),
        check=True,
        capture_output=True,
        timeout=60,
    )
    entry = (share / "applications" / "org.medgrad.desktop.desktop").read_text()
    lines = dict(line.split("=", 1) for line in entry.splitlines() if "=" in line)
    assert lines["Exec"] == f'"{top}/MedGradDesktop/MedGradDesktop" %f'
    assert (
        Path(lines["Icon"]).is_file()
        and lines["Type"] == "Application"
        and lines["Name"] == "MedGrad Desktop"
    )
    assert "@" not in entry
    subprocess.run(
        [str(top / "install.sh"), "--uninstall"],
        env=dict(os.environ, XDG_DATA_HOME=str(share)),
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert not (share / "applications" / "org.medgrad.desktop.desktop").exists()


def test_tarball_script_refuses_a_missing_app(tmp_path):
    r = subprocess.run(
        [str(BUILD / "linux" / "make_tarball.sh"), str(tmp_path / "nothing"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "make bundle" in r.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("script", sorted(p.relative_to(BUILD).as_posix() for p in BUILD.rglob("*.sh")))
def test_shell_scripts_parse_and_are_executable(script):
    path = BUILD / script
    assert os.access(path, os.X_OK), f"{script} is not executable (git update-index --chmod=+x)"
    r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def test_windows_installer_packs_the_bundle_and_writes_to_ignored_dist(cfg):
    iss = (BUILD / "windows" / "medgrad.iss").read_text(encoding="utf-8")
    assert f'#define DistDir "..\\dist\\{cfg.APP_NAME}"' in iss
    assert f'#define AppExe "{cfg.APP_NAME}.exe"' in iss
    assert "OutputDir=..\\dist" in iss and "recursesubdirs" in iss
    icon = iss.split("SetupIconFile=", 1)[1].splitlines()[0].replace("..\\", "").replace("\\", "/")
    assert (BUILD / icon).is_file(), icon
    ignored = (ROOT / ".gitignore").read_text()
    assert "build/dist/" in ignored and "build/build/" in ignored


def test_make_targets_build_into_ignored_folders():
    mk = (ROOT / "Makefile").read_text(encoding="utf-8")
    bundle = mk.split("\nbundle:", 1)[1].split("\n\n", 1)[0]
    assert (
        "build/medgrad.spec" in bundle
        and "--distpath build/dist" in bundle
        and "--workpath build/build" in bundle
    )
    assert "build/bundle_test.sh" in mk.split("\nbundle-test:", 1)[1].split("\n\n", 1)[0]
