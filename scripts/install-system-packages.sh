#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the build links against (oneDNN, libjpeg-turbo, libpng, zlib,
# FreeType, FFmpeg's libavformat/libavcodec/libswscale for video).
# With --tests also what the tests start themselves (a throwaway PostgreSQL server).
# Swift itself is expected on PATH (swift.org toolchain, 6.1 or newer).
set -euo pipefail
packages=(libdnnl-dev libjpeg-dev libpng-dev zlib1g-dev libfreetype-dev fonts-dejavu-core pkg-config
          libavformat-dev libavcodec-dev libswscale-dev libavutil-dev)
if [ "${1:-}" = "--tests" ]; then
  packages+=(postgresql)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update
  $sudo_cmd apt-get install -y "${missing[@]}"
fi
