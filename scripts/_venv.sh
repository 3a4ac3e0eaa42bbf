# Sourced by the scripts: make .venv and install the project into it when
# pyproject.toml has changed since the last install. $1: extras ("" or "dev").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
fi
stamp=".venv/.installed-${extras:-base}"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  spec="."
  [ -n "$extras" ] && spec=".[${extras}]"
  echo "==> installing thongsuot ${spec} into .venv" >&2
  log=".venv/pip-install.log"
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e "$spec" >"$log" 2>&1; then
    cat "$log" >&2
    echo "pip install failed (log above, also in $log)" >&2
    exit 1
  fi
  .venv/bin/python -c "import app, probes" # fail loudly if the install did not work
  echo "$want" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
