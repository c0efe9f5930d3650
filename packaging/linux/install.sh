#!/usr/bin/env sh
# Install the unpacked emstudio bundle for all users (run as root), or for yourself with --user.
#   sudo ./install.sh            -> /opt/emstudio, menu entry in /usr/share/applications
#   ./install.sh --user          -> ~/.local/opt/emstudio, menu entry in ~/.local/share/applications
#   ./install.sh --uninstall [--user]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scope=system
action=install
for arg in "$@"; do
  case "$arg" in
    --user) scope=user ;;
    --uninstall) action=uninstall ;;
    *) echo "usage: $0 [--user] [--uninstall]" >&2; exit 2 ;;
  esac
done
if [ "$scope" = system ]; then
  prefix=/opt/emstudio; apps=/usr/share/applications; bin=/usr/local/bin
  if [ "$(id -u)" != 0 ]; then echo "run as root (sudo $0), or use --user" >&2; exit 2; fi
else
  prefix="$HOME/.local/opt/emstudio"; apps="$HOME/.local/share/applications"; bin="$HOME/.local/bin"
fi
if [ "$action" = uninstall ]; then
  rm -rf "$prefix" "$apps/emstudio.desktop" "$bin/emstudio"
  echo "emstudio removed from $prefix"; exit 0
fi
[ -x "$here/emstudio" ] || { echo "$here/emstudio not found: run install.sh from the unpacked bundle" >&2; exit 2; }
mkdir -p "$prefix" "$apps" "$bin"
cp -a "$here/." "$prefix/"
sed "s|@PREFIX@|$prefix|g" "$here/_internal/resources/emstudio.desktop" > "$apps/emstudio.desktop"
chmod 644 "$apps/emstudio.desktop"
ln -sf "$prefix/emstudio" "$bin/emstudio"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$apps" || true
echo "emstudio installed in $prefix; start it from the desktop menu or with 'emstudio'."
echo "Check the installation with: emstudio --self-test"
