# shellcheck shell=bash
# ti_common.sh: what scripts/bench_train.sh and scripts/bench_classify.sh share; sourced after
# `here`, `reps`, `corpus` and the script's `name` are set. Gives: corpus (absolute; the calling
# script exits 0 without it), cepstra (binary), py (numpy + scikit-learn + threadpoolctl), tmp
# (removed at exit), and the functions ti_feats, cpu_of and median.
: "${name:?set by the sourcing script}"
[ -d "$corpus/train" ] || { echo "$name: no corpus at $corpus; skipped"; exit 0; }
corpus=$(cd "$corpus" && pwd)
cepstra=${CEPSTRA:-$here/target/release/cepstra}
[ -x "$cepstra" ] || (cd "$here" && cargo build --release -q -p cepstra-cli)
py=${PYTHON:-/tmp/venv-sk/bin/python}
if ! "$py" -c 'import numpy, sklearn, threadpoolctl' 2>/dev/null; then
  echo "$name: making /tmp/venv-sk (numpy scikit-learn threadpoolctl)" >&2
  python3 -m venv /tmp/venv-sk && /tmp/venv-sk/bin/pip install -q numpy scikit-learn threadpoolctl >&2
  py=/tmp/venv-sk/bin/python
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

ti_feats() { # SUBDIR NAME: $tmp/NAME.{wav.scp,text,ark,scp}, the 39-dim features of every wav under CORPUS/SUBDIR
  find -L "$corpus/$1" -iname '*.wav' | sort |
    awk '{ n = split($0, p, "/"); print p[n-1] p[n], $0 }' | sort -k1,1 > "$tmp/$2.wav.scp"
  awk '{ k = $1; sub(/_endpt\.wav$/, "", k); print $1, substr(k, 3, 1) }' "$tmp/$2.wav.scp" > "$tmp/$2.text"
  "$cepstra" compute-mfcc-feats --sample-frequency=8000 --use-energy=false --dither=0 scp:"$tmp/$2.wav.scp" ark:- 2>/dev/null |
    "$cepstra" apply-cmvn ark:- ark:- 2>/dev/null |
    "$cepstra" add-deltas ark:- "ark,scp:$tmp/$2.ark,$tmp/$2.scp" 2>/dev/null
}

cpu_of() { # command...: user+sys seconds of one run (GNU time), the command's output discarded
  /usr/bin/time -f '%U %S' -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
  awk '{ printf "%.3f\n", $1 + $2 }' "$tmp/t"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
