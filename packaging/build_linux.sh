#!/usr/bin/env bash
# Builds the one-folder bundle (dist/workstation/) with PyInstaller and the Debian package
# (dist/workstation_<version>_<arch>.deb) from it. Run from anywhere:
#
#     packaging/build_linux.sh
#
# Needs: uv (the project's dev group has PyInstaller), dpkg-deb. Builds on the machine's own
# architecture and glibc: build on the oldest Debian/Ubuntu you want to support (Debian 12 here).
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022
export LC_ALL=C.UTF-8
start=$(date +%s.%N)

command -v uv >/dev/null || { echo "build_linux.sh: uv is missing (pip install uv)" >&2; exit 1; }
command -v dpkg-deb >/dev/null || { echo "build_linux.sh: dpkg-deb is missing" >&2; exit 1; }

# The icons are committed; draw them again only when they are missing.
if [ ! -f packaging/icons/hicolor/256x256/apps/workstation.png ]; then
  QT_QPA_PLATFORM=offscreen uv run --frozen python packaging/make_icons.py
fi

version=$(uv run --frozen python -c 'import workstation; print(workstation.__version__)')
arch=$(dpkg --print-architecture)
echo "== workstation $version ($arch): PyInstaller bundle"

# -- 1. the bundle ---------------------------------------------------------------------------------
rm -rf dist/workstation build/pyinstaller
uv run --frozen pyinstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/workstation.spec
test -x dist/workstation/workstation
bundle_done=$(date +%s.%N)

# -- 2. the .deb -----------------------------------------------------------------------------------
echo "== .deb"
root=build/deb/root
rm -rf build/deb
mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin" "$root/usr/share/applications" \
  "$root/usr/share/doc/workstation"
cp -a dist/workstation "$root/opt/workstation"
ln -s /opt/workstation/workstation "$root/usr/bin/workstation"
install -m 0644 packaging/linux/workstation.desktop "$root/usr/share/applications/workstation.desktop"
install -m 0644 packaging/linux/copyright "$root/usr/share/doc/workstation/copyright"
for png in packaging/icons/hicolor/*/apps/workstation.png; do
  size_dir=$(basename "$(dirname "$(dirname "$png")")")  # e.g. 256x256
  install -D -m 0644 "$png" "$root/usr/share/icons/hicolor/$size_dir/apps/workstation.png"
done

# The newest glibc symbol version any bundled binary needs (the bundle carries the build host's
# libraries, so this is the build host's glibc at most).
glibc=2.36
if command -v objdump >/dev/null; then
  found=$(find dist/workstation -type f \( -name '*.so*' -o -name workstation \) -exec objdump -T {} + 2>/dev/null \
    | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1 || true)
  [ -n "$found" ] && glibc=$found
fi
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)

# Depends: what Qt needs from the system on a bare Debian 12 (docs: /work/shared/PLATFORM.md,
# "Qt on a bare Debian 12"), offscreen and on an X11 screen. Wayland's client libraries are only
# recommended: without them Qt falls back to X11 (XWayland).
cat > "$root/DEBIAN/control" <<EOF
Package: workstation
Version: $version
Section: net
Priority: optional
Architecture: $arch
Maintainer: Workstation maintainers <maintainers@users.noreply.h-seed-857571ac.example>
Installed-Size: $installed_size
Depends: libc6 (>= $glibc), libgl1, libegl1, libxkbcommon0, libfontconfig1, libglib2.0-0, libdbus-1-3, fonts-dejavu-core, libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-render-util0, libxcb-shape0, libxkbcommon-x11-0
Recommends: fonts-noto-color-emoji, libwayland-client0, libwayland-cursor0, libwayland-egl1
Suggests: gnome-keyring
Description: desktop agent workstation for social customer care
 Agents answer customers who write on WhatsApp, Messenger, Instagram, X, Telegram
 and email from one merged feed, with the customer's history and the team's canned
 responses beside every conversation. The same program runs the team server
 (workstation server) and a WhatsApp Cloud API sandbox (workstation demo).
 .
 This package is self-contained: Python and Qt are bundled in /opt/workstation.
EOF

deb="dist/workstation_${version}_${arch}.deb"
rm -f "$deb"
dpkg-deb --build --root-owner-group -Zzstd "$root" "$deb" >/dev/null
dpkg-deb --info "$deb" >/dev/null  # readable?
end=$(date +%s.%N)

# -- 3. report -------------------------------------------------------------------------------------
bundle_mb=$(du -sm dist/workstation | cut -f1)
deb_mb=$(awk -v b="$(stat -c %s "$deb")" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "== done"
echo "bundle:     dist/workstation/  ${bundle_mb} MB"
echo "package:    $deb  ${deb_mb} MB (Depends libc6 >= $glibc)"
awk -v s="$start" -v b="$bundle_done" -v e="$end" \
  'BEGIN { printf "build time: %.0f s (bundle %.0f s, .deb %.0f s)\n", e - s, b - s, e - b }'
