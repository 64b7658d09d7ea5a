#!/usr/bin/env bash
# Build a bundle variant in its own virtual environment, so the torch wheels differ but the spec is one.
#   build/variant.sh cpu    # torch/torchvision CPU wheels from download.pytorch.org/whl/cpu (no nvidia-* libs)
#   build/variant.sh cuda   # the CUDA wheels from PyPI (Linux default; nvidia-* libraries, ~4 GB bundle)
# Output: build/dist/<variant>/MedGradDesktop and, on Linux, its tarball in build/dist/<variant>/.
# Environment: PY (python3.11), VENV (default /tmp/medgrad-bundle-<variant>), CUDA_INDEX (a
# download.pytorch.org index such as https://download.pytorch.org/whl/cu130 to pin a CUDA version).
# The index must serve the pinned versions (pyproject pins torch 2.14.1 / torchvision 0.29.1): where it
# does not (this project's build machine sees only torch 2.13.0+cpu there and no CPU torchvision), pip
# fails or finds a CUDA wheel elsewhere, and the script stops before building.
set -euo pipefail
VARIANT="${1:?usage: build/variant.sh cpu|cuda}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-python3.11}"
VENV="${VENV:-/tmp/medgrad-bundle-$VARIANT}"
# pyproject's pins for torch and torchvision (installed first, from the variant's index)
TORCH_PINS="$("$PY" -c 'import sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
print(" ".join(d for d in deps if d.split("=")[0].strip() in ("torch", "torchvision")))' "$ROOT/pyproject.toml")"
[ -n "$TORCH_PINS" ] || { echo "error: no torch pins in $ROOT/pyproject.toml" >&2; exit 2; }
case "$VARIANT" in
  cpu)  INDEX=(--index-url https://download.pytorch.org/whl/cpu) ;;
  cuda) if [ -n "${CUDA_INDEX:-}" ]; then INDEX=(--index-url "$CUDA_INDEX"); else INDEX=(); fi ;;
  *) echo "error: unknown variant '$VARIANT'; use cpu or cuda" >&2; exit 2 ;;
esac
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip wheel
# torch first, from the variant's index, so the app's requirements do not pull another build
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install -q "${INDEX[@]}" $TORCH_PINS
"$VENV/bin/python" -m pip install -q "$ROOT" pyinstaller
"$VENV/bin/python" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda)"
# pip may satisfy the pin from another index or a local wheel folder: a 'cpu' bundle must not carry CUDA
if [ "$VARIANT" = cpu ] && "$VENV/bin/python" -c "import sys, torch; sys.exit(torch.version.cuda is None)"; then
  echo "error: $VENV has a CUDA torch; the CPU index has no $TORCH_PINS build reachable from here" \
       "(pip found another source). Remove $VENV and build where download.pytorch.org/whl/cpu serves it." >&2
  exit 3
fi
# the spec's "cpu" variant also hides GPUs at run time and drops GPU-only files (none with CPU wheels)
[ "$VARIANT" = cpu ] && export MEDGRAD_BUNDLE_VARIANT=cpu || export MEDGRAD_BUNDLE_VARIANT=gpu
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath "$ROOT/build/dist/$VARIANT" \
  --workpath "$ROOT/build/build/$VARIANT" "$ROOT/build/medgrad.spec"
APP="$ROOT/build/dist/$VARIANT/MedGradDesktop"
echo "bundle: $APP ($(du -sh "$APP" | cut -f1))"
QT_QPA_PLATFORM=offscreen "$APP/MedGradDesktop" --self-test
if [ "$(uname -s)" = Linux ]; then
  "$ROOT/build/linux/make_tarball.sh" "$APP" "$ROOT/build/dist/$VARIANT" "$VARIANT"
fi
