#!/usr/bin/env bash
# Debian packages the project needs: WeasyPrint's libraries (libharfbuzz-subset0 makes a
# certificate render ten times faster), fonts that print every name (CJK included),
# ffmpeg for its ffprobe (an uploaded recording's duration is read from the file itself, and
# a file it cannot read is refused: web processes need it, not only the tests), and, for
# the tests, Debian's Chromium, poppler's pdftotext/pdftoppm, zbarimg and faketime (the
# suite runs a second time at a pinned evening hour of the provider). The tests also use
# ffmpeg itself, to make a short video of known length, and wrk (bench/run.py's load
# generator, which a smoke test drives too).
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-noto-cjk ffmpeg)
if [ "${1:-}" = "--tests" ]; then
  packages+=(chromium poppler-utils zbar-tools faketime wrk)
fi
# bench/run.py's load generator.
if [ "${1:-}" = "--bench" ]; then
  packages+=(wrk)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Please install these Debian packages first: ${missing[*]}" >&2
  exit 1
fi
