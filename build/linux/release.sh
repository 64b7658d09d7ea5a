#!/usr/bin/env bash
# Release build on a Linux runner (the release workflow; any Debian/Ubuntu machine with sudo or as root):
# the bundle of VARIANT (default cpu: no CUDA libraries, about a third of the size) in its own virtual
# environment, its frozen self-test, the tarball, the notices check, the Debian package installed,
# self-tested and removed (build/linux/deb_test.sh). Artefacts: build/dist/release/.
#   build/linux/release.sh [cpu|cuda]
# Needs glibc 2.35 (Ubuntu 22.04, Debian 12) for the bundle to run on the systems the README names.
set -euo pipefail
VARIANT="${1:-cpu}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
# what the Qt offscreen/xcb plug-ins and the package checks need on a bare runner
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  libegl1 libgl1 libglib2.0-0 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0 \
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxcb-shape0 \
  libxcb-xinerama0 libxcb-randr0 libxcb-xkb1 fonts-dejavu-core zstd desktop-file-utils >/dev/null
export VENV="${VENV:-/tmp/medgrad-bundle-$VARIANT}"
export PYTHON="$VENV/bin/python"  # the build environment's Python 3.11 for the helper scripts
"$ROOT/build/variant.sh" "$VARIANT"  # bundle, frozen self-test, tarball in build/dist/$VARIANT
APP="$ROOT/build/dist/$VARIANT/MedGradDesktop"
"$PYTHON" "$ROOT/build/notices.py" --check "$APP"
DEB="$("$ROOT/build/linux/make_deb.sh" "$APP" "$ROOT/build/dist/$VARIANT" "$VARIANT" | tail -1)"
$SUDO env PYTHON="$PYTHON" MEDGRAD_CLI="$VENV/bin/medgrad" "$ROOT/build/linux/deb_test.sh" "$DEB"
OUT="$ROOT/build/dist/release"
mkdir -p "$OUT"
mv "$DEB" "$ROOT/build/dist/$VARIANT"/MedGradDesktop-*.tar.* "$OUT/"
cp "$APP/THIRD-PARTY-NOTICES.txt" "$OUT/THIRD-PARTY-NOTICES-linux-$VARIANT.txt"
ls -l "$OUT"
