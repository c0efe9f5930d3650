#!/usr/bin/env bash
# Build emstudio.app and a .dmg on macOS (Apple silicon or Intel; torch uses MPS when present).
# Not buildable on the Linux CI machine. Requires Xcode command line tools (hdiutil, codesign).
#   packaging/macos/build_dmg.sh            -> dist/emstudio-<version>.dmg
# Signing/notarisation: set CODESIGN_IDENTITY (and notarise with `xcrun notarytool` afterwards).
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(python3 -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
python3.11 -m venv .venv-mac
.venv-mac/bin/python packaging/install_torch.py --variant cpu
.venv-mac/bin/pip install -q -e ".[package]"
.venv-mac/bin/pyinstaller packaging/emstudio.spec --noconfirm
# slim.py is not run: it knows the one-folder layout (_internal/), not the .app's
# Contents/Frameworks + Contents/Resources, so the .app ships unslimmed (larger, complete).
dist/emstudio.app/Contents/MacOS/emstudio --self-test
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
  codesign --deep --force --options runtime --sign "$CODESIGN_IDENTITY" dist/emstudio.app
fi
rm -f "dist/emstudio-$version.dmg"
hdiutil create -volname emstudio -srcfolder dist/emstudio.app -ov -format UDZO \
  "dist/emstudio-$version.dmg"
echo "dist/emstudio-$version.dmg"
