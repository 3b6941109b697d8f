#!/usr/bin/env bash
# Make sure Caddy, the HTTPS reverse proxy docker-compose.yml runs in front of the four
# services, is installed (Debian's package), for the production rehearsal in
# tests/rehearsal/, and NSS's certutil, with which chromium is told to trust Caddy's local
# CA there. Prints the path of caddy. Debian's package also enables a system-wide caddy
# service; the tests run their own, so it is stopped where systemd runs.
set -euo pipefail
if ! command -v caddy >/dev/null 2>&1 || ! command -v certutil >/dev/null 2>&1; then
  echo "==> installing caddy and certutil (apt)" >&2
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq caddy libnss3-tools >&2
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet caddy 2>/dev/null; then
    $SUDO systemctl disable --now caddy >&2 || true
  fi
fi
command -v caddy
