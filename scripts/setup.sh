#!/usr/bin/env bash
# Installs every Debian 12 package Sfumato needs to build, run and test. Idempotent: packages already
# present are left alone, and apt is only asked when something is missing.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root (e.g. 'sudo bash scripts/setup.sh'): it installs Debian packages with apt-get." >&2
    exit 1
fi

packages=(
    build-essential cmake ninja-build git pkg-config
    libtorch-dev libopenblas0-openmp
    qt6-base-dev libqt6sql6-sqlite libgl-dev
    libopencv-dev
    xvfb xauth
)
backports=(libcatch2-dev)

missing=()
for p in "${packages[@]}" "${backports[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Catch2 must be version 3 (bookworm itself ships 2.x).
if dpkg-query -W -f='${Version}' libcatch2-dev 2>/dev/null | grep -q '^2\.'; then
    missing+=(libcatch2-dev)
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup.sh: all packages present."
    exit 0
fi

if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "setup.sh: adding the bookworm-backports suite to apt's sources"
    cat > /etc/apt/sources.list.d/bookworm-backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}"
apt-get install -y -q --no-install-recommends -t bookworm-backports "${backports[@]}"
