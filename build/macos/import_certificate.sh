#!/usr/bin/env bash
# CI only (the release workflow, when the signing secrets exist): put the Developer ID certificate into a
# temporary keychain and the notarization API key into a file, and hand their names to the next steps.
#   MACOS_CERT_P12 (base64 of the .p12), MACOS_CERT_PASSWORD, and optionally NOTARY_KEY_P8 (base64 of the
#   App Store Connect API key), NOTARY_KEY_ID, NOTARY_ISSUER
# Writes SIGN_ID (the identity found in the certificate) and NOTARY_KEY (the key file) to $GITHUB_ENV,
# which build/macos/make_app.sh reads.
set -euo pipefail
[ "$(uname -s)" = Darwin ] || { echo "error: run this on macOS" >&2; exit 2; }
: "${MACOS_CERT_P12:?}" "${MACOS_CERT_PASSWORD:?}" "${GITHUB_ENV:?this script is for the release workflow}"
WORK="${RUNNER_TEMP:-$(mktemp -d)}"
KEYCHAIN="$WORK/medgrad-signing.keychain-db"
KEYCHAIN_PASSWORD="$(uuidgen)"
echo "$MACOS_CERT_P12" | base64 --decode > "$WORK/cert.p12"
security create-keychain -p "$KEYCHAIN_PASSWORD" "$KEYCHAIN"
security set-keychain-settings -lut 21600 "$KEYCHAIN"
security unlock-keychain -p "$KEYCHAIN_PASSWORD" "$KEYCHAIN"
security import "$WORK/cert.p12" -P "$MACOS_CERT_PASSWORD" -A -t cert -f pkcs12 -k "$KEYCHAIN"
rm -f "$WORK/cert.p12"
security set-key-partition-list -S apple-tool:,apple: -k "$KEYCHAIN_PASSWORD" "$KEYCHAIN" >/dev/null
# search this keychain first, keeping the user's others
security list-keychains -d user -s "$KEYCHAIN" $(security list-keychains -d user | tr -d '"')
SIGN_ID="$(security find-identity -v -p codesigning "$KEYCHAIN" | sed -n 's/.*"\(Developer ID Application:.*\)"/\1/p' | sed -n 1p)"
[ -n "$SIGN_ID" ] || { echo "error: no 'Developer ID Application' identity in the certificate" >&2; exit 1; }
echo "SIGN_ID=$SIGN_ID" >> "$GITHUB_ENV"
if [ -n "${NOTARY_KEY_P8:-}" ]; then
  echo "$NOTARY_KEY_P8" | base64 --decode > "$WORK/notary-key.p8"
  echo "NOTARY_KEY=$WORK/notary-key.p8" >> "$GITHUB_ENV"
fi
echo "signing identity: $SIGN_ID"
