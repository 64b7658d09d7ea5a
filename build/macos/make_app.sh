#!/usr/bin/env bash
# Build "MedGrad Desktop.app" and a .dmg on macOS (Apple silicon or Intel).
#   build/macos/make_app.sh
# The spec's BUNDLE step turns the one-folder build into an .app (icon build/icons/medgrad.icns,
# identifier org.medgrad.desktop). macOS torch wheels from PyPI are CPU/MPS builds: one variant only.
# Signing: ad-hoc by default (runs on this Mac; other Macs need right-click > Open once). For
# distribution set SIGN_ID="Developer ID Application: ..." and NOTARY_PROFILE (a `xcrun notarytool
# store-credentials` profile): the script then signs with the hardened runtime and notarizes the .dmg.
set -euo pipefail
[ "$(uname -s)" = Darwin ] || { echo "error: run this on macOS" >&2; exit 2; }
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${VENV:-/tmp/medgrad-bundle-macos}"
[ -x "$VENV/bin/python" ] || python3.11 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip wheel
"$VENV/bin/python" -m pip install -q "$ROOT" pyinstaller
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath "$ROOT/build/dist" --workpath "$ROOT/build/build" \
  "$ROOT/build/medgrad.spec"
APP="$ROOT/build/dist/MedGrad Desktop.app"
QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/MedGradDesktop" --self-test
if [ -n "${SIGN_ID:-}" ]; then
  codesign --force --deep --options runtime --timestamp -s "$SIGN_ID" "$APP"
else
  codesign --force --deep -s - "$APP"
fi
VERSION="$("$VENV/bin/python" -c 'import medgrad_desktop; print(medgrad_desktop.__version__)')"
DMG="$ROOT/build/dist/MedGradDesktop-$VERSION-macos-$(uname -m).dmg"
rm -f "$DMG"
hdiutil create -volname "MedGrad Desktop" -srcfolder "$APP" -ov -format UDZO "$DMG"
if [ -n "${SIGN_ID:-}" ] && [ -n "${NOTARY_PROFILE:-}" ]; then
  codesign --force -s "$SIGN_ID" "$DMG"
  xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "$DMG"
fi
echo "$DMG"
