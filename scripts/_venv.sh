# Sourced by the scripts: make .venv and install the locked dependencies, then
# thongsuot itself (editable), whenever a lock file, pyproject.toml or setup.py
# has changed since the last install. $1: "" (requirements/runtime.txt) or "dev"
# (requirements/dev.txt). The locks come from scripts/lock.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
extras="${1:-}"
lock="requirements/${extras:-runtime}.txt"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
fi
stamp=".venv/.installed-${extras:-base}"
want="$(cat pyproject.toml setup.py requirements/build.txt "$lock" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing $lock and thongsuot into .venv" >&2
  log=".venv/pip-install.log"
  pip=(.venv/bin/python -m pip --disable-pip-version-check)
  # Packages that no lock names any more (dropped or renamed dependencies) go;
  # what the other lock needs stays, since demo and test share this .venv.
  stale="$(.venv/bin/python - requirements/*.txt <<'PYEOF'
import re, sys
from importlib.metadata import distributions
canon = lambda name: re.sub(r"[-_.]+", "-", name).lower()
locked = {"pip", "thongsuot"}
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        locked |= {canon(m[1]) for m in re.finditer(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", f.read(), re.M)}
print(" ".join(sorted({canon(d.metadata["Name"]) for d in distributions()} - locked)))
PYEOF
)"
  if ! {
    { [ -z "$stale" ] || "${pip[@]}" uninstall -q -y $stale; } &&
      "${pip[@]}" install -q --require-hashes -r requirements/build.txt -r "$lock" &&
      "${pip[@]}" install -q --no-deps --no-build-isolation -e . &&
      "${pip[@]}" check # a dependency pyproject.toml names but the lock lacks: run scripts/lock
  } >"$log" 2>&1; then
    cat "$log" >&2
    echo "pip install failed (log above, also in $log)" >&2
    exit 1
  fi
  .venv/bin/python -c "import app, probes" # fail loudly if the install did not work
  echo "$want" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
