#!/usr/bin/env bash
# Start the frozen GUI on a display (run it under xvfb-run), wait until the window is on screen and the
# first prediction has arrived, save a screenshot of the screen and close the app.
#   build/gui_screenshot.sh APP_DIR FOLDER OUT.png [TIMEOUT_S]
set -euo pipefail
APP="$1"; FOLDER="$2"; SHOT="$3"; LIMIT="${4:-300}"
: "${DISPLAY:?run under xvfb-run (or a desktop session)}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/medgrad-shot.XXXXXX")"
export XDG_CONFIG_HOME="$TMP/config" MEDGRAD_DATA_DIR="$TMP/data" QT_QPA_PLATFORM=xcb
export MEDGRAD_STARTUP_TRACE="$TMP/trace.json" MEDGRAD_STARTUP_TRACE_STAY=1
"$APP/MedGradDesktop" "$FOLDER" >"$TMP/app.log" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
for _ in $(seq 1 $((LIMIT * 2))); do
  [ -s "$TMP/trace.json" ] && break
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "error: the app exited before showing its window and a prediction:" >&2; cat "$TMP/app.log" >&2; exit 1
  fi
  sleep 0.5
done
if [ ! -s "$TMP/trace.json" ]; then
  echo "error: no window with a prediction within ${LIMIT} s" >&2; cat "$TMP/app.log" >&2; exit 1
fi
# the trace saw the window paint; where x11-utils is installed, also ask the X server
if command -v xwininfo >/dev/null 2>&1 && ! xwininfo -root -tree | grep -q '"MedGrad Desktop'; then
  echo "error: no 'MedGrad Desktop' window on $DISPLAY" >&2; exit 1
fi
sleep 5  # let the thumbnails, the overlay and the remaining predictions paint
import -window root "$SHOT"
echo "screenshot: $SHOT (trace $(cat "$TMP/trace.json"))"
