"""What takes the space in built bundles: size on disk by package, and the largest libraries, written
as the "Bundle size" section of docs/BENCHMARKS.md.

    python benchmarks/bundle_size.py build/dist/MedGradDesktop[=gpu] build/dist/cpu/MedGradDesktop=cpu \
        [--append-docs]

Sizes are allocated blocks (what `du` counts), in MiB; a bundle is one PyInstaller one-folder app.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import BENCH_DOC, cpu_name, git_commit, write_section

SECTION = "## Bundle size"
WHAT_REMAINS = (
    "What remains, and why: PyPI's Linux torch is a CUDA build, and `import torch` loads `libtorch_cuda.so`, "
    "which links cuBLAS/cuBLASLt, cuFFT, cuSPARSE, cuSPARSELt, cuRAND, NCCL, NVRTC, nvJitLink, NVSHMEM and "
    "cuDNN's loader: those must ship even in a bundle that never computes on a GPU, or the app does not start "
    "(`tests/bundle/test_bundle_variants.py` checks every kept library's links with `readelf`). The GPU variant also "
    "needs cuDNN's engines (about 0.9 GiB, opened on the first convolution on a GPU) and cuSOLVER; the cpu "
    "variant leaves those out and hides GPUs at run time. Already left out of both: triton, headers, test "
    "folders, CUDA files nothing loads, unused Qt platform plugins and QML, hf_xet (downloads only); torch's "
    "libraries are stripped of their symbol tables and NCCL of its debug sections (46 MiB). The cpu variant "
    "is about 180 MiB above the goal, and every library of that is linked at `import torch` (the largest: "
    "cuBLASLt 517, cuFFT 273, cuSPARSELt 223, NCCL 195 MiB). Below 3 GiB needs torch's CPU wheels (`build/variant.sh cpu`, from the PyTorch CPU "
    "index, which this build machine cannot reach): no `nvidia/` at all and a smaller `libtorch_cpu.so`."
)
GOAL_GIB = 3.0
MIB = 2**20


def disk_bytes(path: Path) -> int:
    """Bytes allocated to a file or a folder tree (links not followed), as `du` counts them."""
    if path.is_symlink() or path.is_file():
        return path.lstat().st_blocks * 512
    return sum(p.lstat().st_blocks * 512 for p in path.rglob("*") if p.is_symlink() or p.is_file())


def by_package(app: Path) -> Counter:
    """Bytes per top-level entry of the bundle's `_internal` folder (a package, or a loose library),
    with `nvidia/<part>` split out since it is most of a CUDA bundle; the executable (which holds the
    compressed Python modules) as `(launcher with the Python archive)`."""
    sizes: Counter = Counter()
    internal = app / "_internal"
    for entry in internal.iterdir():
        if entry.name == "nvidia" and entry.is_dir():
            for part in entry.iterdir():
                sizes[f"nvidia/{part.name}"] = disk_bytes(part)
        else:
            sizes[entry.name] = disk_bytes(entry)
    for entry in app.iterdir():
        if entry.name != "_internal":
            sizes["(launcher with the Python archive)"] += disk_bytes(entry)
    return sizes


def largest_libraries(app: Path, n: int = 12) -> list[tuple[str, int]]:
    libs = [
        (str(p.relative_to(app / "_internal")), p.lstat().st_blocks * 512)
        for p in (app / "_internal").rglob("*.so*")
        if p.is_file() and not p.is_symlink()
    ]
    return sorted(libs, key=lambda t: -t[1])[:n]


def section(apps: list[tuple[str, Path]]) -> str:
    totals = {name: disk_bytes(app) for name, app in apps}
    sizes = {name: by_package(app) for name, app in apps}
    names = [n for n, _ in apps]
    rows = sorted(
        {k for s in sizes.values() for k in s}, key=lambda k: -max(s.get(k, 0) for s in sizes.values())
    )
    lines = [
        SECTION,
        "",
        "`python benchmarks/bundle_size.py` on the one-folder bundles built by `build/medgrad.spec` "
        f"(PyInstaller, Linux). Goal: at most {GOAL_GIB:g} GiB unpacked.",
        "",
        "| variant | unpacked | goal met |",
        "|---|---|---|",
    ]
    for n in names:
        lines.append(
            f"| {n} | **{totals[n] / 2**30:.2f} GiB** ({totals[n] / MIB:.0f} MiB) | "
            f"{'yes' if totals[n] <= GOAL_GIB * 2**30 else 'no'} |"
        )
    # one line, so the section stays short in docs/BENCHMARKS.md (the docs' line budget)
    entries, small = [], dict.fromkeys(names, 0)
    for k in rows:
        mib = [sizes[n].get(k, 0) / MIB for n in names]
        if max(mib) >= 5:
            same = len({round(m) for m in mib}) == 1
            entries.append(f"`{k}` " + (f"{mib[0]:.0f}" if same else " / ".join(f"{m:.0f}" for m in mib)))
        else:
            for n in names:
                small[n] += sizes[n].get(k, 0)
    rest = [small[n] / MIB for n in names]
    entries.append(
        "everything else "
        + (f"{rest[0]:.0f}" if len({round(m) for m in rest}) == 1 else " / ".join(f"{m:.0f}" for m in rest))
    )
    lines += [
        "",
        f"By package (MiB, {' / '.join(names)} where they differ; entries of 5 MiB or more in any variant): "
        + ", ".join(entries)
        + ".",
    ]
    first_name, first = apps[0]
    lines += [
        "",
        f"Largest libraries of the {first_name} variant (MiB): "
        + ", ".join(f"`{p}` {b / MIB:.0f}" for p, b in largest_libraries(first))
        + ".",
    ]
    lines += ["", WHAT_REMAINS]
    lines += [
        "",
        f"Measured {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}, commit `{git_commit(True)}`, "
        f"on {cpu_name()}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("apps", nargs="+", help="bundle folder, optionally =VARIANT_NAME")
    ap.add_argument("--append-docs", action="store_true")
    args = ap.parse_args(argv)
    apps = []
    for a in args.apps:
        path, _, name = a.partition("=")
        app = Path(path)
        if not (app / "_internal").is_dir():
            print(f"error: {app}: not a one-folder bundle (no _internal/); build it first", file=sys.stderr)
            return 2
        apps.append((name or app.name, app))
    text = section(apps)
    print(text)
    if args.append_docs:
        write_section(BENCH_DOC, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
