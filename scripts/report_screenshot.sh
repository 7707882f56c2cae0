#!/usr/bin/env bash
# report_screenshot.sh [--width 1280] [--timeout 60] REPORT.html OUT.png
#
# Opens an HTML report (e.g. exp/mono/report.html from `cepstra compute-accuracy --report`) in headless
# Chromium (Debian's `chromium`, installed with apt-get when missing and we are root), fails if the page
# logs any console error, throws an exception, fails to load a resource or requests anything that is not
# a local file, and saves a full-page PNG screenshot.  Prints the number of <svg> elements rendered.
#
# How: a small Python client speaks the DevTools protocol over --remote-debugging-pipe (no network port,
# no puppeteer): Runtime.consoleAPICalled (type error/assert), Runtime.exceptionThrown, Log.entryAdded
# (level error) and Network.loadingFailed are errors.  Without python3 it falls back to chromium
# --screenshot --enable-logging=stderr and fails on ANY console line (chromium logs every console
# message at INFO there, so levels cannot be told apart; a report without scripts must log nothing).
set -euo pipefail

width=1280
timeout=60
help_message="usage: $0 [--width 1280] [--timeout 60] REPORT.html OUT.png
 e.g.: $0 exp/mono/report.html exp/mono/report.png"
# shellcheck source=SCRIPTDIR/parse_options.sh
. "$(dirname "$0")/parse_options.sh"

if [ $# -ne 2 ]; then printf '%s\n' "$help_message" >&2; exit 1; fi
report=$1; out=$2
[ -f "$report" ] || { echo "$0: no such file: $report" >&2; exit 1; }
[[ $width =~ ^[1-9][0-9]*$ ]] || { echo "$0: --width must be a positive integer, got '$width'" >&2; exit 1; }
[[ $timeout =~ ^[1-9][0-9]*$ ]] || { echo "$0: --timeout must be a positive integer, got '$timeout'" >&2; exit 1; }

chrome=
for c in chromium chromium-browser google-chrome; do
  if command -v "$c" >/dev/null 2>&1; then chrome=$(command -v "$c"); break; fi
done
if [ -z "$chrome" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "$0: chromium not found; installing it with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq chromium >&2
    chrome=$(command -v chromium)
  else
    echo "$0: chromium not found; install it (Debian/Ubuntu: sudo apt-get install chromium)" >&2
    exit 1
  fi
fi

abs_report=$(cd "$(dirname "$report")" && pwd)/$(basename "$report")
url="file://$abs_report"
profile=$(mktemp -d "${TMPDIR:-/tmp}/report_screenshot.XXXXXX")
trap 'rm -rf "$profile"' EXIT
out_dir=$(dirname "$out")
[ -d "$out_dir" ] || { echo "$0: output directory does not exist: $out_dir" >&2; exit 1; }
tmp_png="$out_dir/.$(basename "$out" .png).tmp.$$.png"

flags=(--headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
       --disable-sync --no-first-run --disable-extensions --hide-scrollbars --mute-audio
       "--user-data-dir=$profile")

if command -v python3 >/dev/null 2>&1; then
  python3 - "$chrome" "$url" "$tmp_png" "$width" "$timeout" "${flags[@]}" "--window-size=$width,900" <<'PY'
import base64, json, os, select, subprocess, sys, time

chrome, url, out_png, width, timeout = sys.argv[1:6]
flags = sys.argv[6:]
deadline = time.monotonic() + int(timeout)

# DevTools pipe: Chromium reads commands on fd 3 and writes replies/events on fd 4, NUL-terminated JSON.
to_r, to_w = os.pipe()
from_r, from_w = os.pipe()
def child_fds():
    # Via fresh descriptors, so dup2 never maps an fd onto itself (which would keep close-on-exec).
    r, w = os.dup(to_r), os.dup(from_w)
    os.dup2(r, 3)
    os.dup2(w, 4)
proc = subprocess.Popen([chrome, *flags, "--remote-debugging-pipe", "about:blank"],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL, preexec_fn=child_fds, close_fds=False)
os.close(to_r)
os.close(from_w)

buf = b""
next_id = 0
errors = []
events = []

def fail(msg):
    print(f"report_screenshot: {msg}", file=sys.stderr)
    try:
        proc.kill()
    except OSError:
        pass
    sys.exit(1)

def read_message():
    global buf
    while b"\0" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            fail(f"timed out after {timeout} s waiting for chromium")
        ready, _, _ = select.select([from_r], [], [], left)
        if not ready:
            continue
        chunk = os.read(from_r, 1 << 16)
        if not chunk:
            fail("chromium closed the DevTools pipe (did it crash? run it by hand to see)")
        buf += chunk
    raw, buf = buf.split(b"\0", 1)
    return json.loads(raw)

def note(ev):
    m, p = ev.get("method"), ev.get("params", {})
    if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
        text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
        errors.append(f"console.{p['type']}: {text}")
    elif m == "Runtime.exceptionThrown":
        d = p.get("exceptionDetails", {})
        errors.append("uncaught exception: " + d.get("exception", {}).get("description", d.get("text", "")))
    elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
        e = p["entry"]
        errors.append(f"{e.get('source')} error: {e.get('text')} {e.get('url', '')}".rstrip())
    elif m == "Network.loadingFailed" and not p.get("canceled"):
        errors.append(f"resource failed to load: {p.get('errorText')}")
    elif m == "Network.requestWillBeSent":
        u = p.get("request", {}).get("url", "")
        if not u.startswith(("file:", "data:", "about:")):
            errors.append(f"request to a non-local resource: {u}")
    events.append(m)

def send(method, params=None, session=None):
    global next_id
    next_id += 1
    msg = {"id": next_id, "method": method, "params": params or {}}
    if session:
        msg["sessionId"] = session
    os.write(to_w, json.dumps(msg).encode() + b"\0")
    while True:
        m = read_message()
        if m.get("id") == next_id:
            if "error" in m:
                fail(f"DevTools {method} failed: {m['error']}")
            return m.get("result", {})
        note(m)

def wait_for(method):
    while method not in events:
        note(read_message())

target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
s = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
for domain in ("Page", "Runtime", "Log", "Network"):
    send(f"{domain}.enable", session=s)
send("Emulation.setDeviceMetricsOverride",
     {"width": int(width), "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=s)
send("Page.navigate", {"url": url}, session=s)
wait_for("Page.loadEventFired")
# Let layout settle and late console messages arrive.
send("Runtime.evaluate", {"expression": "new Promise(r => requestAnimationFrame(() => setTimeout(r, 200)))",
                          "awaitPromise": True}, session=s)
svgs = send("Runtime.evaluate", {"expression": "document.querySelectorAll('svg').length",
                                 "returnByValue": True}, session=s)["result"].get("value", 0)
size = send("Page.getLayoutMetrics", session=s)["cssContentSize"]
h = max(1, int(size["height"] + 0.5))
shot = send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
             "clip": {"x": 0, "y": 0, "width": int(width), "height": h, "scale": 1}}, session=s)
try:
    send("Browser.close")
except SystemExit:
    raise
except Exception:
    pass
try:
    proc.wait(timeout=10)
except subprocess.TimeoutExpired:
    proc.kill()
if errors:
    print("report_screenshot: the page logged errors:", file=sys.stderr)
    for e in errors:
        print("  " + e, file=sys.stderr)
    sys.exit(1)
with open(out_png, "wb") as f:
    f.write(base64.b64decode(shot["data"]))
print(f"report_screenshot: {url}: no console errors, {svgs} svg element(s), {width}x{h} px", file=sys.stderr)
PY
else
  log="$profile/chromium.log"
  # The page height is unknown here: a tall window catches the whole report (the rest is white).
  if ! timeout "$timeout" "$chrome" "${flags[@]}" "--window-size=$width,2400" --enable-logging=stderr --v=0 \
      "--screenshot=$tmp_png" "$url" >/dev/null 2>"$log"; then
    echo "$0: chromium failed; its log:" >&2; cat "$log" >&2; exit 1
  fi
  if grep -q ':CONSOLE' "$log"; then
    echo "$0: the page logged console messages:" >&2; grep ':CONSOLE' "$log" >&2
    rm -f "$tmp_png"; exit 1
  fi
  [ -s "$tmp_png" ] || { echo "$0: chromium wrote no screenshot" >&2; exit 1; }
fi
mv -f "$tmp_png" "$out"
echo "$0: wrote $out" >&2
