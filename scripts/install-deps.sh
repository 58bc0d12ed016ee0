#!/bin/sh
# install-deps.sh - install the Debian packages flow needs to build and test.
# Installs only what is missing, so it is quick on a prepared machine.
set -eu

PACKAGES="gcc make cmake pkg-config flex bison libcurl4-openssl-dev libjansson-dev
llvm-dev libsqlite3-dev libpcre2-dev python3 python3-jsonschema libxml2-utils time wrk
curl openssl nghttp2-server"

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $missing
