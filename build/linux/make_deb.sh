#!/usr/bin/env bash
# Package the one-folder bundle as a Debian package (dpkg-deb only; no other packaging tool).
#   build/linux/make_deb.sh [DIST_APP_DIR] [OUT_DIR] [VARIANT]
# Writes OUT_DIR/MedGradDesktop-<version>-linux-<arch>-<variant>.deb (package name medgrad-desktop):
#   /opt/medgrad-desktop/                        the bundle, THIRD-PARTY-NOTICES.txt at its top
#   /usr/bin/medgrad-desktop                     launcher (a file argument opens the folder it is in)
#   /usr/share/applications/org.medgrad.desktop.desktop   menu entry; opens DICOM files and folders
#   /usr/share/icons/hicolor/256x256/apps/org.medgrad.desktop.png
#   /usr/share/doc/medgrad-desktop/copyright     points at the notices
# postinst/postrm refresh the desktop and icon caches where their tools are installed. Depends: the
# system libraries the bundle's ELF files need but do not carry (readelf NEEDED -> ldconfig -> dpkg).
# DEB_COMPRESS (zstd), DEB_LEVEL (1): the bundle is mostly compressed code already, a higher level
# costs minutes for little. Staging hard-links the bundle (no 4 GB copy on the same disk).
# shellcheck source=common.sh
source "$(dirname "$0")/common.sh"
command -v dpkg-deb >/dev/null || { echo "error: dpkg-deb not found (Debian/Ubuntu only)" >&2; exit 2; }
DEB_VERSION="$("$PY" "$ROOT/build/version.py" --debian)"
ARCH="$(dpkg --print-architecture)"
PKG=medgrad-desktop
APP_ID=org.medgrad.desktop
DEB="$OUT/MedGradDesktop-${VERSION}-linux-$(uname -m)-${VARIANT}.deb"
mkdir -p "$OUT"
STAGE="$(mktemp -d "$OUT/.deb-stage.XXXXXX")"  # beside the output: same disk, so hard links work
trap 'rm -rf "$STAGE"' EXIT
chmod 0755 "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/icons/hicolor/256x256/apps" "$STAGE/usr/share/doc/$PKG"
cp -al "$APP" "$STAGE/opt/$PKG" 2>/dev/null || cp -a "$APP" "$STAGE/opt/$PKG"

cat > "$STAGE/usr/bin/$PKG" <<'SH'
#!/bin/sh
# MedGrad Desktop, installed by the medgrad-desktop package in /opt/medgrad-desktop.
# The app opens a folder of images: a file (a DICOM file from the file manager) opens the folder it is in.
if [ $# -ge 1 ] && [ -f "$1" ]; then
  dir=$(dirname -- "$1")
  shift
  set -- "$dir" "$@"
fi
exec /opt/medgrad-desktop/MedGradDesktop "$@"
SH
chmod 0755 "$STAGE/usr/bin/$PKG"

sed -e "s|^Exec=.*|Exec=$PKG %f|" -e "s|^Icon=.*|Icon=$APP_ID|" "$HERE/medgrad-desktop.desktop.in" \
  > "$STAGE/usr/share/applications/$APP_ID.desktop"
echo "MimeType=application/dicom;inode/directory;" >> "$STAGE/usr/share/applications/$APP_ID.desktop"
install -m 0644 "$ROOT/resources/icons/medgrad.png" "$STAGE/usr/share/icons/hicolor/256x256/apps/$APP_ID.png"
cat > "$STAGE/usr/share/doc/$PKG/copyright" <<TXT
MedGrad Desktop ${VERSION}: proprietary, research use only, not for diagnosis.
The third-party components it carries, their licences and the LGPL conditions for replacing the Qt
libraries: /opt/$PKG/THIRD-PARTY-NOTICES.txt (also Help > About > Licences in the app).
TXT
chmod 0644 "$STAGE/usr/share/doc/$PKG/copyright"

# Depends: libraries the bundle's ELF files link (NEEDED) that it does not carry, by the installed
# Debian package that provides them here; glibc at the version the bundle is built for (README: 2.35).
# Qt plug-ins are loaded only if their libraries are there (GTK theme, Wayland ...): only the X11 platform
# plug-in and its GL integrations count.
NEEDED="$( { find "$APP" -type f \( -name '*.so*' -o -name MedGradDesktop \) \
  \( -not -path '*/Qt/plugins/*' -o -path '*/plugins/platforms/libqxcb.so' -o -path '*/plugins/xcbglintegrations/*' \) -print0 \
  | xargs -0 readelf -d 2>/dev/null || true; } | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p' | sort -u)"
CARRIED="$(find "$APP" -name '*.so*' -printf '%f\n' | sort -u)"
DEPENDS="libc6 (>= 2.35)"
for lib in $(comm -23 <(echo "$NEEDED") <(echo "$CARRIED")); do
  case "$lib" in libcuda.so*|libnvidia-*) continue ;; esac  # the NVIDIA driver's: only a GPU run loads them
  path="$(ldconfig -p | awk -v l="$lib" '!found && $1 == l && /x86-64|aarch64|AArch64/ { print $NF; found = 1 }')"
  [ -n "$path" ] || { echo "   warning: $lib is not installed here, so not named in Depends" >&2; continue; }
  pkg="$(dpkg-query -S "$path" 2>/dev/null || dpkg-query -S "$(readlink -f "$path")" 2>/dev/null || true)"
  pkg="${pkg%%:*}"
  case "$pkg" in ""|libc6|libc6-*) continue ;; esac
  DEPENDS="$DEPENDS, $pkg"
done
DEPENDS="$(echo "$DEPENDS" | tr ',' '\n' | sed 's/^ *//' | awk '!seen[$0]++' | paste -sd, - | sed 's/,/, /g')"

cat > "$STAGE/DEBIAN/control" <<CTL
Package: $PKG
Version: $DEB_VERSION
Architecture: $ARCH
Maintainer: ${DEB_MAINTAINER:-MedGrad Desktop project <medgrad-desktop@example.org>}
Installed-Size: $(du -sk "$STAGE/opt" "$STAGE/usr" | awk '{ s += $1 } END { print s }')
Depends: $DEPENDS
Section: science
Priority: optional
Description: explainable CLIP skin-lesion review (research use only)
 MedGrad Desktop shows a CLIP model's prediction for dermoscopic and clinical
 skin images with Grad-CAM, Grad-ECLIP and MedGrad E-CLIP maps, keeps the
 reviewer's decisions and writes de-identified reports. Research use only,
 not for diagnosis.
 .
 Bundle variant: $VARIANT. Installed in /opt/$PKG; third-party licences in
 /opt/$PKG/THIRD-PARTY-NOTICES.txt. Removing the package leaves the users'
 data (project store, reports) where it is.
CTL
for script in postinst postrm; do
  cat > "$STAGE/DEBIAN/$script" <<'SH'
#!/bin/sh
# Refresh the menu's MIME cache and the icon cache, where their tools are installed.
set -e
case "$1" in
  configure|remove|purge)
    if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database -q /usr/share/applications || true; fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1; then gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true; fi
    ;;
esac
exit 0
SH
  chmod 0755 "$STAGE/DEBIAN/$script"
done

rm -f "$DEB"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-zstd}" -z"${DEB_LEVEL:-1}" --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
