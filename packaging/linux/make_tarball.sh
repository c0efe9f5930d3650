#!/usr/bin/env bash
# Pack dist/emstudio (a slimmed PyInstaller build) with install.sh into a tarball.
#   packaging/linux/make_tarball.sh cpu|cuda   -> dist/emstudio-<version>-linux-x86_64-<variant>.tar.gz
set -euo pipefail
cd "$(dirname "$0")/../.."
variant=${1:-cpu}
version=$(python3 -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
cp packaging/linux/install.sh dist/emstudio/install.sh
name="emstudio-$version-linux-$(uname -m)-$variant"
tar -C dist -czf "dist/$name.tar.gz" --transform "s|^emstudio|$name|" emstudio
echo "dist/$name.tar.gz"
