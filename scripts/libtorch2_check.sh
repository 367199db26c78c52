#!/bin/bash
# Builds sfumato_core, sfumato-bench and the core tests against libtorch 2.x (Debian 13's libtorch 2.6, CPU)
# in a Debian 13 chroot, and runs the core tests there: the libtorch 2.x code paths (at::
# scaled_dot_product_attention, the 2.3+ allocator interface, oneDNN 3.x) against the conformance data, without a
# GPU.
# As root on Debian 12; takes about 5 min to set up the chroot once, 20 min to build on 2 cores.
#
#   scripts/libtorch2_check.sh [TEST_SPEC]      (default: every core test but [heavy])
#   SFUMATO_TRIXIE=/opt/sfumato-trixie (the chroot; kept for the next run)
set -eu
root=${SFUMATO_TRIXIE:-/opt/sfumato-trixie}
src=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$src/.." && pwd)/shared
spec=${1:-"~[heavy]~[.unet_bench]"}
if [ ! -x "$root/usr/bin/cmake" ]; then
    command -v debootstrap > /dev/null || apt-get install -y debootstrap
    debootstrap --variant=minbase --include=g++,cmake,ninja-build,libtorch-dev,libcatch2-dev,libopenblas0-openmp,ca-certificates \
        trixie "$root" http://deb.debian.org/debian
fi
mkdir -p "$root/src" "$root/shared" "$root/proc"
cleanup() { for m in proc shared src; do umount "$root/$m" 2> /dev/null || true; done; }
trap cleanup EXIT
mountpoint -q "$root/src" || mount --bind "$src" "$root/src"
[ -d "$shared" ] && { mountpoint -q "$root/shared" || mount --bind "$shared" "$root/shared"; }
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
chroot "$root" bash -c "
    set -e
    cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSFUMATO_BUILD_UI=OFF \
        -DSFUMATO_BUILD_CLI=OFF -DSFUMATO_BUILD_TESTS=ON > /build-configure.log
    ninja -C /build sfumato_core_tests sfumato_bench
    cd /build && ./tests/sfumato_core_tests '$spec' --durations yes
"
