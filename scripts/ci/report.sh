#!/usr/bin/env bash
# scripts/ci/report.sh: CI stage "HTML report" (issue 4, acceptance 6): opens the report of the synth_digits
# recipe (egs/synth_digits/exp/classes_cmn_full_k5_i5_s0/score_test_cmn/report.html; the recipe is run first, from
# --stage 0, when the report is missing) in headless Chromium with scripts/report_screenshot.sh, which fails on
# any console error, exception, failed or non-local request, and saves the screenshot as
# target/ci/report_synth_digits.png.  Also checks the SVG plots carry axes, labels and a legend.
# Usage: scripts/ci/report.sh [REPORT.html]
set -euo pipefail
cd "$(dirname "$0")/../.."
report=${1:-egs/synth_digits/exp/classes_cmn_full_k5_i5_s0/score_test_cmn/report.html}
name=$(sed -n 's|^\(.*/\)\{0,1\}egs/\([^/]*\)/.*|\2|p' <<< "$report")
out=target/ci/report_${name:-custom}.png
if [ $# -eq 0 ] && [ ! -f "$report" ]; then
  echo "== report: no $report yet; running egs/synth_digits/run.sh"
  egs/synth_digits/run.sh --nj 2 | tail -n 1
fi
mkdir -p target/ci
echo "== report: $report in headless Chromium (no console errors allowed) -> $out"
scripts/report_screenshot.sh "$report" "$out"
echo "== report: the SVG plots have axes, labels and a legend"
fail=0
for what in '<svg' '<text' 'legend' '<line|<path'; do
  if grep -qiE "$what" "$report"; then echo "ok   report has $what"; else echo "FAIL report has no $what"; fail=1; fi
done
[ -s "$out" ] || { echo "FAIL no screenshot $out"; fail=1; }
[ "$fail" -eq 0 ] && echo "== report: passed ($out)"
exit "$fail"
