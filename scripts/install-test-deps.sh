#!/usr/bin/env bash
# Install the system tools the tests need: promtool/prometheus (Debian package
# "prometheus") and, where Debian has it, amtool ("prometheus-alertmanager") for the
# deploy tests; poppler-utils and the DejaVu fonts for the PDF report tests;
# chromium for the browser tests of the status pages.
# Idempotent: does nothing when the tools are already there. Never leaves the
# packaged daemons running: tests start their own instances on 127.0.0.1.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# the PDF report (app/reports/pdf.py): its fonts, and poppler's pdftoppm/pdftotext/pdffonts
# that tests/reports/test_report_document.py renders and reads the pages with
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] || need+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf ] || need+=(fonts-dejavu-extra)
# the browser tests of the public pages (tests/status/test_browser.py, tests/support/browser.py):
# headless Chromium driven over the DevTools protocol (fonts-dejavu-core above has Vietnamese)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ! command -v amtool >/dev/null 2>&1; then
  want_am=1
else
  want_am=0
fi

if [ "${#need[@]}" -eq 0 ] && [ "$want_am" -eq 0 ]; then
  echo "install-test-deps: everything already present"
  exit 0
fi

# A policy-rc.d that answers 101 forbids invoke-rc.d from starting services
# during the install; put one in place only for the duration of this script.
POLICY=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
  $SUDO chmod 755 "$POLICY"
  created_policy=1
fi
cleanup() {
  if [ "$created_policy" -eq 1 ]; then $SUDO rm -f "$POLICY"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq

if [ "$want_am" -eq 1 ] && apt-cache show prometheus-alertmanager >/dev/null 2>&1; then
  need+=(prometheus-alertmanager)
fi

if [ "${#need[@]}" -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# Belt and braces: if a packaged daemon started anyway (a host without the
# policy, or with systemd), stop it so it holds no port and no storage.
for svc in prometheus prometheus-alertmanager; do
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl stop "$svc" >/dev/null 2>&1 || true
    $SUDO systemctl disable "$svc" >/dev/null 2>&1 || true
  elif command -v service >/dev/null 2>&1; then
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  fi
done

command -v promtool >/dev/null 2>&1 || { echo "install-test-deps: promtool missing" >&2; exit 1; }
echo "install-test-deps: $(promtool --version 2>&1 | head -n1)"
if command -v amtool >/dev/null 2>&1; then
  echo "install-test-deps: $(amtool --version 2>&1 | head -n1)"
fi
command -v chromium >/dev/null 2>&1 || { echo "install-test-deps: chromium missing" >&2; exit 1; }
echo "install-test-deps: $(chromium --version 2>/dev/null | head -n1)"
