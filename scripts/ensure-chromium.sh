#!/usr/bin/env bash
# Browser tests need Debian's Chromium at /usr/bin/chromium (driven by
# playwright-core; never `npx playwright install`). Installs it only when it
# is missing: about 20 s and 480 MB the first time, nothing afterwards.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-chromium: /usr/bin/chromium is missing; install it as root with:" >&2
  echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium" >&2
  exit 1
fi

echo "ensure-chromium: installing Debian's chromium (once)..." >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
test -x /usr/bin/chromium
