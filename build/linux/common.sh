# Sourced by make_tarball.sh and make_deb.sh: their shared arguments and the app's version.
#   [DIST_APP_DIR] [OUT_DIR] [VARIANT] -> APP, OUT, VARIANT; HERE (build/linux), ROOT, PY, VERSION
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
APP="${1:-$ROOT/build/dist/MedGradDesktop}"
OUT="${2:-$ROOT/build/dist}"
VARIANT="${3:-cuda}"
[ -x "$APP/MedGradDesktop" ] || { echo "error: $APP/MedGradDesktop not found; run 'make bundle' first" >&2; exit 2; }
# sed, not head: under pipefail, head leaving early can kill the writer with SIGPIPE (exit 141)
PY="${PYTHON:-$(command -v "$ROOT/.venv/bin/python" python3.11 python3 | sed -n 1p)}"  # any Python 3.11+ (tomllib)
VERSION="$("$PY" "$ROOT/build/version.py")"  # pyproject's [project].version
