#!/usr/bin/env bash
# Package the one-folder bundle as a Linux tarball with a .desktop file and an icon.
#   build/linux/make_tarball.sh [DIST_APP_DIR] [OUT_DIR] [VARIANT]
# DIST_APP_DIR defaults to build/dist/MedGradDesktop, OUT_DIR to build/dist, VARIANT (cuda|cpu) is only
# part of the file name. Writes OUT_DIR/MedGradDesktop-<version>-linux-<arch>-<variant>.tar.zst (or
# .tar.gz when zstd is missing; ZSTD_LEVEL, default 3, trades time for size) holding:
#   MedGradDesktop/            the app (run MedGradDesktop/MedGradDesktop)
#   install.sh                 adds the menu entry and icon for this user (no root, nothing copied)
#   medgrad-desktop.desktop.in menu entry template, medgrad.png icon, README.txt
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
NAME="MedGradDesktop-${VERSION}-linux-$(uname -m)-${VARIANT}"
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/medgrad-tar.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/$NAME" "$OUT"
# hard links where possible: staging a 4 GB folder costs no copy on the same disk
cp -al "$APP" "$STAGE/$NAME/MedGradDesktop" 2>/dev/null || cp -a "$APP" "$STAGE/$NAME/MedGradDesktop"
cp "$HERE/medgrad-desktop.desktop.in" "$HERE/install.sh" "$ROOT/resources/icons/medgrad.png" "$STAGE/$NAME/"
cat > "$STAGE/$NAME/README.txt" <<TXT
MedGrad Desktop ${VERSION} (${VARIANT}) for Linux $(uname -m). Research use only, not for diagnosis.
Run:      ./MedGradDesktop/MedGradDesktop [FOLDER]
Check:    ./MedGradDesktop/MedGradDesktop --self-test      (headless; exits 0 when the bundle works)
Menu:     ./install.sh      (adds a menu entry and icon for this user; ./install.sh --uninstall removes them)
Needs glibc 2.35 or newer and an X11 or Wayland session (libxcb-cursor0 on older distributions).
TXT
chmod +x "$STAGE/$NAME/install.sh"
if command -v zstd >/dev/null 2>&1; then
  TARBALL="$OUT/$NAME.tar.zst"
  tar -C "$STAGE" -cf - "$NAME" | zstd -q -T2 "-${ZSTD_LEVEL:-3}" -f -o "$TARBALL"
else
  TARBALL="$OUT/$NAME.tar.gz"
  tar -C "$STAGE" -czf "$TARBALL" "$NAME"
fi
echo "$TARBALL"
