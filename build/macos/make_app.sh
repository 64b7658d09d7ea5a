#!/usr/bin/env bash
# Build "MedGrad Desktop.app" and a .dmg on macOS (Apple silicon or Intel).
#   build/macos/make_app.sh
# The spec's BUNDLE step turns the one-folder build into an .app (icon build/icons/medgrad.icns,
# identifier org.medgrad.desktop, version from pyproject). macOS torch wheels from PyPI are CPU/MPS builds:
# one variant only.
# Signing is done by PyInstaller while it builds (it signs every collected binary, then the .app):
# ad-hoc by default (runs on this Mac; other Macs need right-click > Open once). For distribution set
# SIGN_ID="Developer ID Application: ..." (a certificate in the keychain; build/macos/import_certificate.sh
# puts one there in CI): hardened runtime with build/macos/entitlements.plist, and the .dmg is signed too.
# Notarization (only with SIGN_ID) uses either NOTARY_PROFILE (a `xcrun notarytool store-credentials`
# profile) or an App Store Connect API key: NOTARY_KEY (path of the .p8), NOTARY_KEY_ID, NOTARY_ISSUER.
# The self-test runs on the signed app, so a missing entitlement fails here rather than on a user's Mac.
set -euo pipefail
[ "$(uname -s)" = Darwin ] || { echo "error: run this on macOS" >&2; exit 2; }
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${VENV:-/tmp/medgrad-bundle-macos}"
PY="${PY:-python3.11}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip wheel
"$VENV/bin/python" -m pip install -q "$ROOT" pyinstaller
MEDGRAD_CODESIGN_IDENTITY="${SIGN_ID:-}" "$VENV/bin/pyinstaller" --noconfirm --log-level WARN \
  --distpath "$ROOT/build/dist" --workpath "$ROOT/build/build" "$ROOT/build/medgrad.spec"
APP="$ROOT/build/dist/MedGrad Desktop.app"
codesign --verify --deep --strict --verbose=2 "$APP"
# PyInstaller puts data files in Contents/Resources (linked from Contents/Frameworks, the app's _MEIPASS)
[ -s "$APP/Contents/Resources/THIRD-PARTY-NOTICES.txt" ] || [ -s "$APP/Contents/Frameworks/THIRD-PARTY-NOTICES.txt" ] \
  || { echo "error: no THIRD-PARTY-NOTICES.txt in $APP" >&2; exit 1; }
VERSION="$("$VENV/bin/python" "$ROOT/build/version.py")"
PLIST_VERSION="$(/usr/libexec/PlistBuddy -c 'Print :CFBundleShortVersionString' "$APP/Contents/Info.plist")"
[ "$PLIST_VERSION" = "$VERSION" ] || { echo "error: Info.plist says $PLIST_VERSION, pyproject $VERSION" >&2; exit 1; }
QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/MedGradDesktop" --self-test
cp "$APP/Contents/Resources/THIRD-PARTY-NOTICES.txt" "$ROOT/build/dist/THIRD-PARTY-NOTICES-macos-$(uname -m).txt" 2>/dev/null \
  || cp "$APP/Contents/Frameworks/THIRD-PARTY-NOTICES.txt" "$ROOT/build/dist/THIRD-PARTY-NOTICES-macos-$(uname -m).txt"
DMG="$ROOT/build/dist/MedGradDesktop-$VERSION-macos-$(uname -m).dmg"
rm -f "$DMG"
# the .app and a link to /Applications: the usual drag-to-install window
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/medgrad-dmg.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
ditto "$APP" "$STAGE/MedGrad Desktop.app"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "MedGrad Desktop $VERSION" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
if [ -n "${SIGN_ID:-}" ]; then
  codesign --force --timestamp -s "$SIGN_ID" "$DMG"
  if [ -n "${NOTARY_PROFILE:-}" ]; then
    AUTH=(--keychain-profile "$NOTARY_PROFILE")
  elif [ -n "${NOTARY_KEY:-}" ]; then
    AUTH=(--key "$NOTARY_KEY" --key-id "${NOTARY_KEY_ID:?}" --issuer "${NOTARY_ISSUER:?}")
  else
    AUTH=()
    echo "warning: signed but not notarized (no NOTARY_PROFILE or NOTARY_KEY): Gatekeeper will warn" >&2
  fi
  if [ ${#AUTH[@]} -gt 0 ]; then
    RESULT="$(xcrun notarytool submit "$DMG" "${AUTH[@]}" --wait --output-format json)"
    echo "$RESULT"
    STATUS="$(echo "$RESULT" | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin).get("status", ""))')"
    if [ "$STATUS" != Accepted ]; then
      ID="$(echo "$RESULT" | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin).get("id", ""))')"
      [ -z "$ID" ] || xcrun notarytool log "$ID" "${AUTH[@]}" || true
      echo "error: notarization: $STATUS" >&2
      exit 1
    fi
    xcrun stapler staple "$DMG"
    xcrun stapler validate "$DMG"
    spctl --assess --type open --context context:primary-signature --verbose=2 "$DMG"
  fi
fi
echo "$DMG"
