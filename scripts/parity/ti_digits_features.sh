#!/usr/bin/env bash
# ti_digits_features.sh [CORPUS]: issue 2, acceptance 2 — our MFCC → per-utterance CMN → deltas on
# the 440 coursework utterances against (a) real Kaldi at dither 0 (`kaldi_nodither/`: every frame
# within 1e-3·max(1,|value|), identical frame counts) and (b) the coursework feats.ark made with
# dither (mean |diff| ≤ 0.21 / 0.07 / 0.03 for statics / Δ / ΔΔ). Prints the figures; exits
# non-zero if a bound is missed. CORPUS defaults to ../shared/data/ti-digits (LDC-derived: read
# only, never copied into the project). Skips (exit 0) when the corpus is absent.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
corpus=${1:-$here/../shared/data/ti-digits}
if [ ! -d "$corpus/train/kaldi_nodither" ]; then
  echo "ti_digits_features.sh: no corpus at $corpus; skipped"
  exit 0
fi
corpus=$(cd "$corpus" && pwd)
cepstra=${CEPSTRA:-$here/target/release/cepstra}
[ -x "$cepstra" ] || { echo "ti_digits_features.sh: build first (cargo build --release -p cepstra-cli)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for set in train test; do
  echo "== $set =="
  "$cepstra" compute-mfcc-feats --sample-frequency=8000 --use-energy=false --dither=0 \
    "scp:$corpus/$set/wav.scp" "ark:$tmp/mfcc.ark" 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
  echo -n "MFCC vs Kaldi (dither 0):                 "
  "$cepstra" compare-feats --tolerance=1e-3 "ark:$tmp/mfcc.ark" "scp:$corpus/$set/kaldi_nodither/mfcc.scp" 2>/dev/null
  "$cepstra" apply-cmvn "ark:$tmp/mfcc.ark" ark:- 2>/dev/null | "$cepstra" add-deltas ark:- "ark:$tmp/feats.ark" 2>/dev/null
  echo -n "CMN+deltas vs Kaldi (dither 0):           "
  "$cepstra" compare-feats --tolerance=1e-3 --groups=13,13,13 "ark:$tmp/feats.ark" \
    "scp:$corpus/$set/kaldi_nodither/feats.scp" 2>/dev/null
  echo -n "CMN+deltas vs coursework feats.ark (dither): "
  "$cepstra" compare-feats --groups=13,13,13 --max-mean-diff=0.21,0.07,0.03 "ark:$tmp/feats.ark" \
    "scp:$corpus/$set/feats.scp" 2>/dev/null
done
echo "ti_digits_features.sh: all bounds met"
