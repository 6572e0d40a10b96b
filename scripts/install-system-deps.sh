#!/usr/bin/env bash
# Install the Debian packages pgx-report's tests, demo and benchmarks need.
# Idempotent: installs only what is missing. Needs root (or sudo) for apt-get.
set -euo pipefail

PACKAGES=(
  bcftools tabix                                   # peer for concordance tests and benchmarks
  poppler-utils                                    # pdftoppm/pdftotext for report checks
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig  # WeasyPrint
  slurmctld slurmd slurm-client munge              # single-node SLURM cluster test
  time                                             # /usr/bin/time for peak-memory benchmarks
  chromium chromium-driver                         # browser tests of the questionnaire form
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-system-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-system-deps: need root to apt-get install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
