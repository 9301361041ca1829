#!/bin/sh
# Install what building, running and testing collectionsfs needs on Debian,
# only when something is missing. Run as root (or with sudo available).
set -eu

pkgs="build-essential meson ninja-build pkg-config libfuse3-dev fuse3 libcurl4-openssl-dev
libyajl-dev libinih-dev uthash-dev libsystemd-dev python3 curl ca-certificates
libhiredis-dev zlib1g-dev libssl-dev"
if [ "${1:-}" = "--test" ]; then
    # clang-format: tests/run checks the tree against .clang-format
    pkgs="$pkgs bats rsync attr clang clang-format libclang-rt-14-dev"
    # desktop_filemanager.bats: Thunar with tumbler under Xvfb, and GIO
    pkgs="$pkgs thunar tumbler xvfb xauth xdotool imagemagick dbus dbus-x11 libglib2.0-bin shared-mime-info"
    # python3-xattr: desktop_xattr.bats reads attributes as `xattr -l` does
    pkgs="$pkgs python3-xattr"
    # test_shared: the unit test starts its own Redis
    pkgs="$pkgs redis-server"
    # Prism (contract tests) comes from npm; any node >= 18 will do
    command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
    # server_install.bats: systemd-analyze verify (which asks man for the
    # units' Documentation= pages) and mandoc -T lint
    pkgs="$pkgs systemd man-db mandoc"
fi

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing </dev/null
