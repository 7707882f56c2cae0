#!/usr/bin/env bash
# bench_mfcc.sh [CORPUS]: issue 2, acceptance 4 — MFCC throughput on every TI-digits wav (2182
# files, 1260.5 s of audio), printed side by side in one run: real Kaldi's compute-mfcc-feats (built
# by ../shared/tools/kaldi-ref/build.sh when that exists), kaldi-native-fbank (PyPI, audio
# preloaded) and cepstra with 1 thread and all threads. Same options everywhere: 8 kHz, 13 ceps,
# 23 bins, dither 0, use-energy false; output discarded. Median of 3 runs each, as × real time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$here/../shared/data/ti-digits}
[ -d "$corpus/train" ] || { echo "bench_mfcc.sh: no corpus at $corpus; skipped"; exit 0; }
corpus=$(cd "$corpus" && pwd)
cepstra=${CEPSTRA:-$here/target/release/cepstra}
[ -x "$cepstra" ] || (cd "$here" && cargo build --release -p cepstra-cli)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
find "$corpus" -name '*.wav' | LC_ALL=C sort | awk '{n=$0; sub(/.*\//,"",n); k=$0; gsub(/\//,"_",k); print k, $0}' > "$tmp/wav.scp"
n=$(wc -l < "$tmp/wav.scp")
audio_s=$(awk 'BEGIN{s=0} {cmd="stat -c %s \"" $2 "\""; cmd | getline b; close(cmd); s += (b-44)/2/8000} END{printf "%.1f", s}' "$tmp/wav.scp")
opts=(--sample-frequency=8000 --use-energy=false --dither=0)

median3() { # command...: prints the median wall time of 3 runs in seconds
  local ts=()
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    ts+=("$(echo "$e - $s" | bc -l)")
  done
  printf '%s\n' "${ts[@]}" | sort -g | sed -n 2p
}
row() { printf '%-38s %8.3f s %9.0f× real time\n' "$1" "$2" "$(echo "$audio_s / $2" | bc -l)"; }

echo "MFCC on $n wavs, $audio_s s of audio ($(nproc) cores)"
kaldi_bin=""
if [ -x "$here/../shared/tools/kaldi-ref/build.sh" ]; then
  kdir=${KALDI_REF_DIR:-$here/target/kaldi-ref}  # the build kaldi_names.sh and CI keep
  [ -x "$kdir/bin/compute-mfcc-feats" ] || bash "$here/../shared/tools/kaldi-ref/build.sh" "$kdir" >/dev/null 2>&1 || true
  [ -x "$kdir/bin/compute-mfcc-feats" ] && kaldi_bin=$kdir/bin/compute-mfcc-feats
fi
if [ -n "$kaldi_bin" ]; then
  row "Kaldi compute-mfcc-feats (1 thread)" "$(median3 "$kaldi_bin" "${opts[@]}" "scp:$tmp/wav.scp" ark:/dev/null)"
else
  echo "Kaldi compute-mfcc-feats: not available (needs ../shared/tools/kaldi-ref)"
fi
py=${PYTHON:-$here/.venv-ci/bin/python}
if [ -x "$py" ] && "$py" -c 'import kaldi_native_fbank' 2>/dev/null; then
  t=$("$py" "$here/scripts/bench/mfcc_knf.py" "$tmp/wav.scp" | awk '{print $2}')
  row "kaldi-native-fbank (1 thread, preloaded)" "$t"
else
  echo "kaldi-native-fbank: not installed in $py"
fi
row "cepstra compute-mfcc-feats (1 thread)" "$(RAYON_NUM_THREADS=1 median3 "$cepstra" compute-mfcc-feats "${opts[@]}" "scp:$tmp/wav.scp" ark:/dev/null)"
row "cepstra compute-mfcc-feats ($(nproc) threads)" "$(median3 "$cepstra" compute-mfcc-feats "${opts[@]}" "scp:$tmp/wav.scp" ark:/dev/null)"
