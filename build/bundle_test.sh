#!/usr/bin/env bash
# `make bundle-test` after `make bundle`: checks the frozen app the way a user would meet it.
#   1. `MedGradDesktop --self-test` offscreen (model, predictions, three maps, report) from build/dist,
#      then on DICOM files in four pixel encodings (the decoders are plug-ins found by package metadata);
#   2. the GUI under Xvfb until a prediction is shown, with a screenshot (build/dist/bundle-screenshot.png);
#   3. the Linux tarball: made, unpacked elsewhere, its self-test run there, its menu entry installed;
#   4. the third-party notices: every bundled distribution and system library has an entry;
#   5. the Debian package: made, installed with apt-get, self-tested, its menu entry validated, removed,
#      with the user's data kept (build/linux/deb_test.sh; as root only, as in CI).
# SELFTEST_FOLDER=<folder> replaces the bundled demo images (e.g. while the demo is not there yet).
# BUNDLE_TEST_PRUNE=1 (CI) deletes the tarball and the .deb once each is tested: the disk then holds the
# bundle and one more copy at a time (.ci/run's free-disk figure counts on it).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
APP="${1:-$ROOT/build/dist/MedGradDesktop}"
LIMIT="${BUNDLE_TEST_TIMEOUT:-600}"
[ -x "$APP/MedGradDesktop" ] || { echo "error: $APP/MedGradDesktop missing; run 'make bundle'" >&2; exit 2; }
DEMO="$APP/_internal/resources/demo"
FOLDER="${SELFTEST_FOLDER:-$DEMO}"
if [ -z "${SELFTEST_FOLDER:-}" ] && [ ! -d "$DEMO" ]; then
  echo "error: the bundle has no demo folder ($DEMO): resources/demo/ was missing at build time." >&2
  echo "       Add the demo images and model and rebuild, or set SELFTEST_FOLDER=<folder of images>." >&2
  exit 2
fi
TMP="$(mktemp -d "${TMPDIR:-/tmp}/medgrad-bundle-test.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
isolated() { env XDG_CONFIG_HOME="$TMP/config" MEDGRAD_DATA_DIR="$TMP/data" QT_QPA_PLATFORM=offscreen "$@"; }

echo "== bundle size: $(du -sh "$APP" | cut -f1)"
echo "== 1/5 self-test of $APP on $FOLDER"
SECONDS=0
isolated timeout "$LIMIT" "$APP/MedGradDesktop" --self-test "$FOLDER"
echo "   passed in ${SECONDS} s"
LOGFILE="$TMP/data/logs/medgrad.log"  # the frozen app writes its private log from main()'s first line
grep -q "self-test passed" "$LOGFILE" && [ "$(stat -c %a "$LOGFILE")" = 600 ] || {
  echo "error: the frozen self-test did not write its private log $LOGFILE" >&2; exit 1; }
echo "   log written: $LOGFILE (0600)"

echo "== 1b/5 self-test on DICOM in five pixel encodings (uncompressed, JPEG, RLE, JPEG 2000, JPEG lossless)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
"$PYTHON" -m medgrad_desktop.testing.dicom_samples "$TMP/dicom" >/dev/null
OUT="$(isolated timeout "$LIMIT" "$APP/MedGradDesktop" --self-test "$TMP/dicom")" || { echo "$OUT" >&2; exit 1; }
echo "$OUT" | grep -q "^predictions: 5 images analysed, 0 unreadable$" || {
  echo "$OUT" >&2; echo "error: the frozen app could not decode every DICOM encoding" >&2; exit 1; }
echo "   passed: all five decoded"

echo "== 2/5 GUI under Xvfb with a screenshot"
SHOT="$ROOT/build/dist/bundle-screenshot.png"
xvfb-run -a -s "-screen 0 1600x1000x24" "$HERE/gui_screenshot.sh" "$APP" "$FOLDER" "$SHOT" 300
SPREAD="$(convert "$SHOT" -colorspace Gray -format '%[fx:standard_deviation]' info:)"
awk -v s="$SPREAD" 'BEGIN { exit !(s > 0.05) }' || { echo "error: $SHOT is nearly blank (spread $SPREAD)" >&2; exit 1; }
echo "   $SHOT (grey-level spread $SPREAD)"

echo "== 3/5 Linux tarball"
TARBALL="$("$HERE/linux/make_tarball.sh" "$APP" "$ROOT/build/dist" "${BUNDLE_VARIANT:-cuda}" | tail -1)"
echo "   $TARBALL ($(du -h "$TARBALL" | cut -f1))"
mkdir -p "$TMP/unpacked"
case "$TARBALL" in
  *.zst) zstd -dc "$TARBALL" | tar -C "$TMP/unpacked" -xf - ;;
  *) tar -C "$TMP/unpacked" -xzf "$TARBALL" ;;
esac
UNPACKED="$(find "$TMP/unpacked" -mindepth 1 -maxdepth 1 -type d | sed -n 1p)"
[ "$FOLDER" = "$DEMO" ] && FOLDER2="$UNPACKED/MedGradDesktop/_internal/resources/demo" || FOLDER2="$FOLDER"
isolated timeout "$LIMIT" "$UNPACKED/MedGradDesktop/MedGradDesktop" --self-test "$FOLDER2"
XDG_DATA_HOME="$TMP/share" "$UNPACKED/install.sh"
ENTRY="$TMP/share/applications/org.medgrad.desktop.desktop"
grep -q "^Exec=\"$UNPACKED/MedGradDesktop/MedGradDesktop\" %f$" "$ENTRY" || { echo "error: bad Exec in $ENTRY" >&2; cat "$ENTRY" >&2; exit 1; }
[ -s "$TMP/share/icons/hicolor/256x256/apps/org.medgrad.desktop.png" ] || { echo "error: icon not installed" >&2; exit 1; }
if command -v desktop-file-validate >/dev/null 2>&1; then desktop-file-validate "$ENTRY"; fi
rm -rf "$TMP/unpacked"  # before the Debian package: the disk holds one extra copy of the app at a time
[ "${BUNDLE_TEST_PRUNE:-0}" = 1 ] && rm -f "$TARBALL"

echo "== 4/5 third-party notices"
NOTICES="$APP/THIRD-PARTY-NOTICES.txt"
[ -s "$NOTICES" ] && [ -s "$APP/_internal/THIRD-PARTY-NOTICES.txt" ] || { echo "error: $NOTICES missing" >&2; exit 1; }
sed -n '1,6p' "$NOTICES" | sed 's/^/   | /'
"$PYTHON" "$HERE/notices.py" --check "$APP" | sed 's/^/   /'

echo "== 5/5 Debian package"
SECONDS=0
DEB="$("$HERE/linux/make_deb.sh" "$APP" "$ROOT/build/dist" "${BUNDLE_VARIANT:-cuda}" | tail -1)"
echo "   $DEB ($(du -h "$DEB" | cut -f1), made in ${SECONDS} s)"
[ "$FOLDER" = "$DEMO" ] && FOLDER3="" || FOLDER3="$FOLDER"
"$HERE/linux/deb_test.sh" "$DEB" ${FOLDER3:+"$FOLDER3"}
[ "${BUNDLE_TEST_PRUNE:-0}" = 1 ] && rm -f "$DEB"
echo "== bundle-test passed"
