#!/usr/bin/env bash
# bench_recipe.sh: wall time and accuracy of the recipes, each printed beside a reference pipeline
# (kaldi-native-fbank MFCC + scikit-learn GaussianMixture: scripts/reference/ref_pipeline.py) timed in the
# same run on the same data dirs.
#   1. egs/tidigits, coursework split (330 train / 110 test), features from the wavs: run.sh end to end
#      (data prep, features, training, scoring; cepstra already built, the build is not timed)
#   2. egs/tidigits --train-set all (2072 training wavs), same test set
#   3. egs/synth_digits with run.pl (its corpus is made first if needed; that is not timed)
# Beside each run.sh stage it prints the bare pipeline: the same cepstra commands on the same inputs, --nj
# jobs at once, run directly (no run.pl, split, merge or checks), so the difference is the shell layer.
# The TI digits runs need ../shared/data/ti-digits beside the repository (or --corpus DIR) and are skipped
# with a message without it.  The reference runs need Python 3; a venv with kaldi-native-fbank,
# scikit-learn and numpy is made in /tmp/venv-ref on first use (--reference false skips them).
# Each is run --repeat times (default 3); the least wall time of the runs is shown (per stage too), as the
# figure least disturbed by other load on the machine.
# Usage: scripts/bench_recipe.sh [--nj 2] [--cmd run.pl] [--corpus DIR] [--reference true] [--synth true]
#                                [--repeat 3]
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
nj=2
cmd=run.pl
corpus=$root/../shared/data/ti-digits
reference=true
synth=true
repeat=3
venv=/tmp/venv-ref
help_message=$(sed -n '2,18s/^# \{0,1\}//p' "$0")
# shellcheck source=SCRIPTDIR/parse_options.sh
. "$root/scripts/parse_options.sh"
[ $# -eq 0 ] || { printf '%s\n' "$help_message" >&2; exit 1; }
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "$0: --repeat must be a positive integer, got '$repeat'" >&2; exit 1; }

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

rows=(); stages=(); bare_rows=()

# bare EGS TRAIN TEST: the work of run.sh's features, train and score stages run directly on the data dirs
# and splits the run left (TRAIN/TEST: the data dirs of the final features, e.g. data/train_cmn), into a
# scratch dir; prints "features F train T score S" (wall seconds)
bare() {
  local egs=$1 tr=$2 te=$3 w
  w=$(mktemp -d /tmp/bench_bare.XXXXXX)
  (
    cd "$root/egs/$egs" || exit 1
    # shellcheck source=SCRIPTDIR/../egs/tidigits/path.sh
    . ./path.sh
    t0=$EPOCHREALTIME
    for d in "$tr" "$te"; do
      for ((j = 1; j <= nj; j++)); do
        cepstra compute-mfcc-feats --config=conf/mfcc.conf "--write-num-frames=ark,t:$w/${d##*/}.$j.len" \
          "scp:$d/split${nj}utt/$j/wav.scp" ark:- 2>/dev/null | cepstra apply-cmvn --norm-vars=false ark:- ark:- 2>/dev/null |
          cepstra add-deltas ark:- "ark,scp:$w/${d##*/}.$j.ark,$w/${d##*/}.$j.scp" 2>/dev/null &
      done
    done
    wait
    t1=$EPOCHREALTIME
    cepstra init-classes --num-gauss=5 --covariance=full --num-iters=5 --seed=0 --feature-config=conf/mfcc.conf \
      --cmvn=utterance --norm-vars=false --deltas=2 "scp:$tr/feats.scp" "$tr/text" "$w/0.mdl" 2>/dev/null
    for ((x = 0; x <= 5; x++)); do
      m=$w/$x.mdl; [ "$x" -lt 5 ] || m=$w/5.mdl
      for ((j = 1; j <= nj; j++)); do
        cepstra acc-classes "$m" "scp:$tr/split${nj}utt/$j/feats.scp" "$tr/split${nj}utt/$j/text" "$w/$x.$j.acc" 2>/dev/null &
      done
      wait
      if [ "$x" -lt 5 ]; then cepstra est-classes "$m" "$w/$x".[0-9]*.acc "$w/$((x + 1)).mdl" 2>/dev/null; fi
    done   # (x = 5: the final model's statistics, as train_classes.sh --final-accs true)
    t2=$EPOCHREALTIME
    for ((j = 1; j <= nj; j++)); do
      cepstra classify "$w/5.mdl" "scp:$te/split${nj}utt/$j/feats.scp" "$w/scores.$j.tsv" "$w/hyp.$j.txt" 2>/dev/null &
    done
    wait
    cat "$w"/hyp.[0-9]*.txt > "$w/hyp.txt"
    cepstra compute-accuracy --report "$w/report.html" --models "$w/5.mdl" --data "$te" --scores "$w/scores.1.tsv" \
      "$te/text" "$w/hyp.txt" > /dev/null 2>&1
    t3=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN { printf "features %.2f train %.2f score %.2f", b - a, c - b, d - c }'
  )
  rm -rf "$w"
}
row() { rows+=("$(printf '%-36s %9s  %-26s %9s  %s' "$@")"); }

# least STAGES...: "name secs name secs ..." of several runs -> the least secs per name (first run's order)
least() {
  awk '{ for (j = 1; j < NF; j += 2) { if (!($j in m)) { o[++n] = $j; m[$j] = $(j + 1) } else if ($(j + 1) < m[$j]) m[$j] = $(j + 1) } }
       END { for (i = 1; i <= n; i++) printf "%s%s %.2f", (i > 1 ? " " : ""), o[i], m[o[i]] }' <<< "$(printf '%s\n' "$@")"
}

# run_recipe EGS-DIR DATA-TRAIN DATA-TEST LABEL RUN-ARGS...: time run.sh (--repeat times), then the reference
# on its data dirs and the bare pipeline
run_recipe() {
  local egs=$1 tr=$2 te=$3 label=$4 t0 t1 acc racc=- rtime=- r wall=() st=() b=() s bs
  shift 4
  for ((r = 1; r <= repeat; r++)); do
    echo "$0: $label: egs/$egs/run.sh $* (run $r of $repeat)" >&2
    t0=$EPOCHREALTIME
    acc=$("$root/egs/$egs/run.sh" --nj "$nj" --cmd "$cmd" "$@" 2> "/tmp/bench_recipe.$egs.log" | tail -n 1) ||
      { tail -n 20 "/tmp/bench_recipe.$egs.log" >&2; echo "$0: $label failed (log /tmp/bench_recipe.$egs.log)" >&2; exit 1; }
    t1=$EPOCHREALTIME
    wall+=("wall $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
    # run.sh's own per-stage wall times, from its line in exp/RESULTS
    st+=("$(tail -n 1 "$root/egs/$egs/exp/RESULTS" | awk -F '\t' '
      { for (i = 1; i <= NF; i++) if ($i ~ /^stages /) { sub(/^stages /, "", $i); print $i } }')")
    # the same work without the shell layer, stage by stage
    b+=("$(bare "$egs" "$tr"_cmn "$te"_cmn)")
  done
  if $reference; then
    local r0 r1
    r0=$(now)
    racc=$("$venv/bin/python" "$root/scripts/reference/ref_pipeline.py" "$root/egs/$egs/$tr" "$root/egs/$egs/$te" | tail -n 1)
    r1=$(now)
    rtime=$(secs "$r0" "$r1")
  fi
  row "$label" "$(least "${wall[@]}" | awk '{ printf "%.2f s", $2 }')" "${acc#accuracy }" "$rtime" "${racc#accuracy }"
  s=$(least "${st[@]}"); bs=$(least "${b[@]}")
  stages+=("$(printf '%-36s %s' "$label" "$(awk '{ for (j = 1; j < NF; j += 2) printf "%s%s %s s", (j > 1 ? ", " : ""), $j, $(j + 1) }' <<< "$s")")")
  bare_rows+=("$(awk -v label="$label" -v st="$s" '
    BEGIN { n = split(st, w, " "); for (j = 1; j < n; j += 2) t[w[j]] = w[j + 1] }
    { printf "%-36s", label; for (j = 1; j < NF; j += 2) printf "  %s %.2f / %.2f (+%.2f)", $j, t[$j], $(j + 1), t[$j] - $(j + 1) }' <<< "$bs")")
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
echo "(wall times, the least of $repeat runs; cepstra: run.sh --nj $nj --cmd $cmd, K=5 full covariance, 5 EM passes, seed 0, from the wavs," \
  "binary already built; targets: coursework < 2 s, all-2072 < 5 s; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "where cepstra's time went (run.sh's stages, wall seconds, from exp/RESULTS; the least of $repeat runs):"
printf '%s\n' "${stages[@]}"
echo
echo "the shell layer: run.sh's stage / the same cepstra commands run directly, --nj $nj at once (+ the difference);" \
  "wall seconds, the least of $repeat runs each"
printf '%s\n' "${bare_rows[@]}"
