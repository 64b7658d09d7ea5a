#!/usr/bin/env bash
# Add (or with --uninstall remove) the MedGrad Desktop menu entry and icon for the current user.
# The app stays where it was unpacked; the menu entry points at that absolute path.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
DESKTOP="$DATA/applications/org.medgrad.desktop.desktop"
ICON="$DATA/icons/hicolor/256x256/apps/org.medgrad.desktop.png"
if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$DESKTOP" "$ICON"
  echo "removed $DESKTOP and $ICON"
  exit 0
fi
[ -x "$HERE/MedGradDesktop/MedGradDesktop" ] || { echo "error: $HERE/MedGradDesktop/MedGradDesktop missing; unpack the whole tarball" >&2; exit 2; }
mkdir -p "$(dirname "$DESKTOP")" "$(dirname "$ICON")"
cp "$HERE/medgrad.png" "$ICON"
sed -e "s|@APPDIR@|$HERE/MedGradDesktop|g" -e "s|@ICON@|$ICON|g" "$HERE/medgrad-desktop.desktop.in" > "$DESKTOP"
chmod +x "$DESKTOP"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$(dirname "$DESKTOP")" || true
echo "menu entry: $DESKTOP"
