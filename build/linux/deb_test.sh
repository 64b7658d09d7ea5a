#!/usr/bin/env bash
# Install the .deb the way an IT department does, use it as a user, remove it, and show that the user's
# project store and reports are still there (byte for byte).
#   build/linux/deb_test.sh DEB [SELFTEST_FOLDER]
# Needs root and apt-get (CI runs as root); otherwise it says so and does nothing. The whole session is
# written to DEB_TEST_LOG (default: DEB with .install.log) and printed at the end.
# SELFTEST_FOLDER defaults to the installed demo folder. The report is written by the `medgrad` command
# line of the environment that built the bundle (MEDGRAD_CLI; the bundle holds the GUI only), into the
# same user's data folder the installed app used.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DEB="$(readlink -f "${1:?usage: build/linux/deb_test.sh DEB [SELFTEST_FOLDER]}")"
PKG=medgrad-desktop
OPT="/opt/$PKG"
FOLDER="${2:-$OPT/_internal/resources/demo}"
LOG="${DEB_TEST_LOG:-${DEB%.deb}.install.log}"
LIMIT="${BUNDLE_TEST_TIMEOUT:-600}"
CLI="${MEDGRAD_CLI:-$ROOT/.venv/bin/medgrad}"
PY="${PYTHON:-$(command -v "$ROOT/.venv/bin/python" python3.11 python3 | sed -n 1p)}"
ENTRY="/usr/share/applications/org.medgrad.desktop.desktop"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "   Debian package NOT installed here: installing needs root and apt-get (CI runs it as root)"
  exit 0
fi
TMP="$(mktemp -d "${TMPDIR:-/tmp}/medgrad-deb-test.XXXXXX")"
chmod 0755 "$TMP"
cleanup() {  # a failed run must not leave the package installed
  if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q "ok installed"; then
    apt-get remove -y -qq "$PKG" >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
: > "$LOG"
log() { echo "$*" >> "$LOG"; }
run() { log "\$ $*"; "$@" >> "$LOG" 2>&1; }
fail() { log "FAILED: $*"; cat "$LOG"; echo "error: $*" >&2; exit 1; }
as_user() {  # a user with a fresh home: the app's data goes to ~/.local/share/MedGradDesktop
  env -u MEDGRAD_DATA_DIR -u XDG_DATA_HOME -u XDG_CONFIG_HOME HOME="$TMP/home" QT_QPA_PLATFORM=offscreen "$@"
}
mkdir -p "$TMP/home"
VERSION="$("$PY" "$ROOT/build/version.py")"

log "== $(date -u +%FT%TZ) install/uninstall test of $(basename "$DEB") ($(du -h "$DEB" | cut -f1))"
run dpkg-deb --field "$DEB" Package Version Architecture Installed-Size Depends
log "\$ dpkg-deb --contents (outside the bundle folder)"
dpkg-deb --contents "$DEB" | awk '$6 !~ /^\.\/opt\/medgrad-desktop\/./ { print "  " $6, $7, $8 }' >> "$LOG"
log "  ... and $(dpkg-deb --contents "$DEB" | grep -c "\./opt/$PKG/.") entries under $OPT"

log "== install"
SECONDS=0
run apt-get install -y --no-install-recommends "$DEB" || fail "apt-get install $DEB"
log "   installed in ${SECONDS} s: $(du -sh "$OPT" | cut -f1) in $OPT"
run dpkg-query -W -f='${Package} ${Version} ${Status}\n' "$PKG"
[ "$(command -v $PKG)" = "/usr/bin/$PKG" ] || fail "$PKG is not on the PATH"
[ -s "$OPT/THIRD-PARTY-NOTICES.txt" ] || fail "no THIRD-PARTY-NOTICES.txt in $OPT"
got="$(as_user $PKG --version)"
log "\$ $PKG --version"
log "$got"
[ "$got" = "MedGrad Desktop $VERSION" ] || fail "the installed app says '$got', pyproject says $VERSION"
run desktop-file-validate "$ENTRY" || fail "desktop-file-validate $ENTRY"
log "   $ENTRY is valid: $(grep -E '^(Exec|Icon|MimeType)=' "$ENTRY" | paste -sd' ' -)"
[ -s /usr/share/icons/hicolor/256x256/apps/org.medgrad.desktop.png ] || fail "icon not installed"
if command -v update-desktop-database >/dev/null 2>&1; then
  for mime in application/dicom inode/directory; do
    grep -q "^$mime=.*org.medgrad.desktop.desktop" /usr/share/applications/mimeinfo.cache \
      || fail "postinst did not register the app for $mime"
  done
  log "   registered for application/dicom and inode/directory (mimeinfo.cache)"
fi

log "== a user works with the installed app (HOME=$TMP/home)"
log "\$ $PKG --self-test $FOLDER"
as_user timeout "$LIMIT" "$PKG" --self-test "$FOLDER" >> "$LOG" 2>&1 || fail "self-test of the installed app"
DATA="$TMP/home/.local/share/MedGradDesktop"
REPORTS="$TMP/home/MedGrad reports"
if [ -x "$CLI" ]; then
  mkdir -p "$TMP/one"
  first="$(find "$FOLDER" -maxdepth 1 -type f \( -iname '*.png' -o -iname '*.jpg' -o -iname '*.dcm' \) | sort | sed -n 1p)"
  cp "$first" "$TMP/one/"
  log "\$ medgrad report <one image of the demo> --out '$REPORTS'   (the build environment's command line)"
  as_user timeout "$LIMIT" "$CLI" report "$TMP/one" --out "$REPORTS" >> "$LOG" 2>&1 || fail "medgrad report"
else
  log "   (no medgrad command line at $CLI: no report written, the project store alone is checked)"
fi
[ -s "$DATA/project.sqlite3" ] || fail "the installed app wrote no project store in $DATA"
find "$DATA" "$REPORTS" -type f 2>/dev/null | sort > "$TMP/user-files"
xargs -d '\n' sha256sum < "$TMP/user-files" > "$TMP/before.sha256"
log "   the user's files:"
xargs -d '\n' ls -l < "$TMP/user-files" | sed "s|$TMP/home|~|; s/^/     /" >> "$LOG"

log "== remove"
run apt-get remove -y "$PKG" || fail "apt-get remove $PKG"
run dpkg-query -W -f='${Package} ${Status}\n' "$PKG" || true
for gone in "$OPT" "/usr/bin/$PKG" "$ENTRY" /usr/share/icons/hicolor/256x256/apps/org.medgrad.desktop.png; do
  [ ! -e "$gone" ] || fail "$gone is still there after apt-get remove"
done
if [ -f /usr/share/applications/mimeinfo.cache ] && grep -q org.medgrad.desktop /usr/share/applications/mimeinfo.cache; then
  fail "postrm left the app in mimeinfo.cache"
fi
log "   $OPT, /usr/bin/$PKG, the menu entry and the icon are gone"
sha256sum --check --quiet "$TMP/before.sha256" >> "$LOG" 2>&1 || fail "the user's files changed when the package was removed"
log "   the user's $(wc -l < "$TMP/user-files") files (project store, audit log, reports) are still there, unchanged:"
xargs -d '\n' ls -l < "$TMP/user-files" | sed "s|$TMP/home|~|; s/^/     /" >> "$LOG"
log "== install/uninstall test passed"
cat "$LOG"
