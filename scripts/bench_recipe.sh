#!/usr/bin/env bash
# bench_recipe.sh: wall time and accuracy of the recipes, each printed beside a reference pipeline
# (kaldi-native-fbank MFCC + scikit-learn GaussianMixture: scripts/reference/ref_pipeline.py) timed in the
# same run on the same data dirs.
#   1. egs/tidigits, coursework split (330 train / 110 test), features from the wavs: run.sh end to end
#      (data prep, features, training, scoring; cepstra already built, the build is not timed)
#   2. egs/tidigits --train-set all (2072 training wavs), same test set
#   3. egs/synth_digits with run.pl (its corpus is made first if needed; that is not timed)
# The TI digits runs need ../shared/data/ti-digits beside the repository (or --corpus DIR) and are skipped
# with a message without it.  The reference runs need Python 3; a venv with kaldi-native-fbank,
# scikit-learn and numpy is made in /tmp/venv-ref on first use (--reference false skips them).
# Usage: scripts/bench_recipe.sh [--nj 2] [--cmd run.pl] [--corpus DIR] [--reference true] [--synth true]
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
nj=2
cmd=run.pl
corpus=$root/../shared/data/ti-digits
reference=true
synth=true
venv=/tmp/venv-ref
help_message=$(sed -n '2,13s/^# \{0,1\}//p' "$0")
# shellcheck source=SCRIPTDIR/parse_options.sh
. "$root/scripts/parse_options.sh"
[ $# -eq 0 ] || { printf '%s\n' "$help_message" >&2; exit 1; }

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f s", b - a }'; }

# The build happens here, untimed (path.sh builds target/release/cepstra when missing or stale).
# shellcheck source=SCRIPTDIR/../egs/tidigits/path.sh
(cd "$root/egs/tidigits" && . ./path.sh) || { echo "$0: could not build cepstra" >&2; exit 1; }

if $reference; then
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import kaldi_native_fbank, sklearn' 2>/dev/null; then
    echo "$0: making $venv (kaldi-native-fbank, scikit-learn, numpy) for the reference pipeline" >&2
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q kaldi-native-fbank scikit-learn numpy >&2; }; then
      echo "$0: could not make $venv; run with --reference false" >&2; exit 1
    fi
  fi
fi

rows=(); stages=()
row() { rows+=("$(printf '%-36s %9s  %-26s %9s  %s' "$@")"); }

# run_recipe EGS-DIR DATA-TRAIN DATA-TEST LABEL RUN-ARGS...: time run.sh, then the reference on its data dirs
run_recipe() {
  local egs=$1 tr=$2 te=$3 label=$4 t0 t1 acc racc=- rtime=-
  shift 4
  echo "$0: $label: egs/$egs/run.sh $*" >&2
  t0=$(now)
  acc=$("$root/egs/$egs/run.sh" --nj "$nj" --cmd "$cmd" "$@" 2> "/tmp/bench_recipe.$egs.log" | tail -n 1) ||
    { tail -n 20 "/tmp/bench_recipe.$egs.log" >&2; echo "$0: $label failed (log /tmp/bench_recipe.$egs.log)" >&2; exit 1; }
  t1=$(now)
  if $reference; then
    local r0 r1
    r0=$(now)
    racc=$("$venv/bin/python" "$root/scripts/reference/ref_pipeline.py" "$root/egs/$egs/$tr" "$root/egs/$egs/$te" | tail -n 1)
    r1=$(now)
    rtime=$(secs "$r0" "$r1")
  fi
  row "$label" "$(secs "$t0" "$t1")" "${acc#accuracy }" "$rtime" "${racc#accuracy }"
  # where the time went: run.sh's own per-stage wall times, from its line in exp/RESULTS
  stages+=("$(printf '%-36s %s' "$label" "$(tail -n 1 "$root/egs/$egs/exp/RESULTS" | awk -F '\t' '
    { for (i = 1; i <= NF; i++) if ($i ~ /^stages /) { n = split($i, w, " ")
        for (j = 2; j < n; j += 2) printf "%s%s %s s", (j > 2 ? ", " : ""), w[j], w[j + 1] } }')")")
}

if [ -f "$corpus/train/wav.scp" ]; then
  run_recipe tidigits data/train data/test "tidigits coursework (330/110)" --corpus "$corpus"
  run_recipe tidigits data/train_all data/test "tidigits --train-set all (2072/110)" --corpus "$corpus" --train-set all
else
  echo "$0: $corpus not found: skipping the TI digits runs" >&2
fi
if $synth; then
  echo "$0: making the synth_digits corpus if needed (not timed)" >&2
  (cd "$root/egs/synth_digits" && local/make_corpus.sh corpus)
  run_recipe synth_digits data/train data/test "synth_digits (1023/264)"
fi

printf '%-36s %9s  %-26s %9s  %s\n' "recipe (train/test utts)" "cepstra" "accuracy" "reference" "accuracy (kaldi-native-fbank + sklearn)"
printf '%s\n' "${rows[@]}"
echo "(wall times; cepstra: run.sh --nj $nj --cmd $cmd, K=5 full covariance, 5 EM passes, seed 0, from the wavs," \
  "binary already built; targets: coursework < 2 s, all-2072 < 5 s; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "where cepstra's time went (run.sh's stages, wall seconds, from exp/RESULTS):"
printf '%s\n' "${stages[@]}"
