#!/usr/bin/env bash
# axe-core (the accessibility rules engine) for the browser tests: axe.min.js from
# the npm package into .cache/ (ignored by git); nothing is vendored. Idempotent.
# tests/support/browser.py runs it when the file is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="axe-core@4.11.0"
OUT="$ROOT/.cache/axe-core/${PKG#axe-core@}/axe.min.js"
[ -s "$OUT" ] && { echo "$OUT"; exit 0; }
command -v npm >/dev/null 2>&1 || { echo "fetch-axe: npm is needed" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "$PKG" --silent >/dev/null && tar xzf ./*.tgz)
mkdir -p "$(dirname "$OUT")"
cp "$tmp/package/axe.min.js" "$OUT"
echo "fetch-axe: $PKG -> ${OUT#"$ROOT"/}" >&2
echo "$OUT"
