#!/usr/bin/env bash
# The recipes end to end with the release binary (issue 4's acceptance 1, 2, 4, 5 and --stage):
#   egs/synth_digits  --nj 1 and --nj 2: accuracy >= 0.85, byte-identical model sets (0.mdl .. N.mdl,
#                     final.mdl), the same accuracy, the HTML report; --stage 4 and --stage 3 resume
#   egs/tidigits      (when the corpus exists) coursework split from the wavs, --seeds 0,1,2,3,4: mean >= 0.97
#                     printed as "accuracy M ± SD over 5 seeds (min …, max …)"; the same from the corpus's
#                     features; --train-set all prints an accuracy; a raw {MAN,WOMAN}/SPK/*.wav tree (a temp
#                     dir of symlinks to the coursework's wavs) gives the coursework's model set byte for byte;
#                     --nj 1 == --nj 2; --stage 4 and --stage 3 resume
#   --model hmm       (issue 11's accuracy floors, the recipes' HMM defaults) synth_digits seeds 0,1,2: mean
#                     >= 0.95; tidigits coursework: >= 0.9818; the report's HMM sections
# Usage: scripts/tests/test_recipes_e2e.sh [--corpus DIR] [--synth true|false] [--tidigits true|false]
#   --corpus   TI digits in the coursework layout [../shared/data/ti-digits beside the repository]
# The binary is built (egs/*/path.sh: cargo build --release -p cepstra-cli) if stale, once, before the first
# run; the runs then use that binary (CEPSTRA_NO_BUILD=true).  The runs write the egs dirs' data/ and exp/ as
# a user's runs do (runs share exp dirs, so model sets to compare are copied to a temp dir first); each
# appends its line to egs/*/exp/RESULTS.  The synthetic corpus is made first if needed (about a minute).
# Prints one line per check (with the numbers and wall times) and, last, "N passed, M failed"; exits 1 if
# any check failed.
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
corpus=$root/../shared/data/ti-digits
synth=true
tidigits=true
help_message=$(sed -n '2,20s/^# \{0,1\}//p' "$0")
# shellcheck source=SCRIPTDIR/../parse_options.sh
. "$root/scripts/parse_options.sh"
[ $# -eq 0 ] || { printf '%s\n' "$help_message" >&2; exit 1; }

work=$(mktemp -d /tmp/test_recipes_e2e.XXXXXX)
passed=0 failed=0
finish() { rm -rf "$work"; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; }
trap finish EXIT
trap 'failed=$((failed + 1)); echo "FAIL interrupted"; exit 1' INT TERM

# shellcheck source=SCRIPTDIR/checks.sh
. "$here/checks.sh"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }   # ge A B: A >= B (numbers)
# accuracy value of a result line ("accuracy 0.9818 (108/110)" or "accuracy 0.9782 ± 0.0050 over 5 seeds ...")
acc_of() { awk '{ print $2 }' <<< "$1"; }
# same_models DIR-A DIR-B: every N.mdl and final.mdl of A exists in B with the same bytes
same_models() {
  local f n=0
  for f in "$1"/*.mdl; do
    cmp -s "$f" "$2/$(basename "$f")" || { echo "     differs: $(basename "$f")"; return 1; }
    n=$((n + 1))
  done
  [ "$n" -ge 2 ] && [ "$(find "$2" -name '*.mdl' | wc -l)" -eq "$n" ]
}
# keep_models EXPDIR DEST: copy the model set (0.mdl .. N.mdl, final.mdl) before another run overwrites it
keep_models() { rm -rf "$2"; mkdir -p "$2" && cp "$1"/*.mdl "$2/"; }

# run EGS LOG ARGS...: run egs/EGS/run.sh ARGS; sets $out (its last line) and $wall (seconds); the whole
# output goes to $work/LOG.log (shown, tail, on failure)
run() {
  local egs=$1 log=$work/$2.log t0 rc
  shift 2
  echo "#    egs/$egs/run.sh $*"
  t0=$(now)
  "$root/egs/$egs/run.sh" "$@" > "$log" 2>&1
  rc=$?
  wall=$(secs "$t0" "$(now)")
  out=$(tail -n 1 "$log")
  if [ "$rc" -ne 0 ]; then echo "     exit $rc; last lines of the output:"; tail -n 15 "$log" | sed 's/^/     | /'; fi
  echo "     -> $out   (wall $wall s)"
  return "$rc"
}
one_re='^accuracy [0-9]\.[0-9]{4} \([0-9]+/[0-9]+\)$'
seeds_re='^accuracy [0-9]\.[0-9]{4} ± [0-9]\.[0-9]{4} over 5 seeds \(min [0-9]\.[0-9]{4}, max [0-9]\.[0-9]{4}\)$'

# ---- the binary: built once if stale, then fixed for every run
# shellcheck source=SCRIPTDIR/../../egs/synth_digits/path.sh
if ! (cd "$root/egs/synth_digits" && . ./path.sh); then check "cepstra builds (path.sh)" false; exit 1; fi
export CEPSTRA_NO_BUILD=true
echo "# cepstra: ${CARGO_TARGET_DIR:-$root/target}/release/cepstra; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- egs/synth_digits
if $synth; then
  echo "# egs/synth_digits (the corpus is made first if needed; not timed)"
  if ! (cd "$root/egs/synth_digits" && local/make_corpus.sh corpus) > "$work/corpus.log" 2>&1; then
    tail -n 20 "$work/corpus.log"; check "synth_digits: local/make_corpus.sh makes the corpus" false
  else
    exp=$root/egs/synth_digits/exp/classes_cmn_full_k5_i5_s0
    run synth_digits synth1 --nj 1; rc=$?
    check "synth_digits --nj 1 exits 0 and prints an accuracy line" test "$rc" -eq 0 -a -n "$(grep -E "$one_re" <<< "$out")"
    acc1=$out; keep_models "$exp" "$work/synth.nj1"
    run synth_digits synth2 --nj 2; rc=$?
    check "synth_digits --nj 2 exits 0 and prints an accuracy line" test "$rc" -eq 0 -a -n "$(grep -E "$one_re" <<< "$out")"
    acc2=$out; keep_models "$exp" "$work/synth.nj2"
    check "synth_digits accuracy $(acc_of "$acc2") >= 0.85 (issue 4, acceptance 5)" ge "$(acc_of "$acc2")" 0.85
    check "synth_digits --nj 1 and --nj 2: the same accuracy ($acc1 | $acc2)" test "$acc1" = "$acc2"
    check "synth_digits --nj 1 and --nj 2: byte-identical model sets ($(cd "$work/synth.nj1" && echo *.mdl | wc -w) files; acceptance 4)" \
      same_models "$work/synth.nj1" "$work/synth.nj2"
    report=$exp/score_test_cmn/report.html
    check "synth_digits: the HTML report exists, with SVG plots" grep -q '<svg' "$report"
    check "synth_digits: exp/RESULTS has the run's line" \
      grep -qE "synth_digits cmn_full_k5_i5.*nj 2.*$(acc_of "$acc2")" "$root/egs/synth_digits/exp/RESULTS"
    check "synth_digits: job logs (features, EM passes, scoring) in exp/*/log" \
      test -s "$root/egs/synth_digits/exp/make_mfcc/log/make_mfcc_train_cmn.2.log" -a -s "$exp/log/acc.4.2.log" \
           -a -s "$exp/score_test_cmn/log/classify.2.log"
    run synth_digits synth_stage4 --nj 2 --stage 4; rc=$?
    check "synth_digits --stage 4 (scoring only) exits 0 with the same accuracy" test "$rc" -eq 0 -a "$out" = "$acc2"
    check "... and leaves the model set alone" same_models "$work/synth.nj2" "$exp"
    mv "$exp/5.mdl" "$work/5.mdl.moved"
    run synth_digits synth_stage3 --nj 2 --stage 3; rc=$?
    check "synth_digits --stage 3 (train + score) exits 0 with the same accuracy" test "$rc" -eq 0 -a "$out" = "$acc2"
    check "... remaking the same model set" same_models "$work/synth.nj2" "$exp"
    run synth_digits synth_hmm --nj 2 --stage 3 --model hmm --seeds 0,1,2; rc=$?
    check "synth_digits --model hmm --seeds 0,1,2 exits 0, printing mean ± sd over 3 seeds" \
      test "$rc" -eq 0 -a -n "$(grep -E "${seeds_re/5 seeds/3 seeds}" <<< "$out")"
    check "synth_digits --model hmm: mean $(acc_of "$out") >= 0.95 (issue 11 floor; hmmlearn S8M4: 0.939)" ge "$(acc_of "$out")" 0.95
    ns=$(sed -n 's/^num_states=\([0-9]*\).*/\1/p' "$root/egs/synth_digits/run.sh")   # the recipe's default
    hrep=$root/egs/synth_digits/exp/hmm_cmn_diag_st${ns}_m4_bw_i20_s0/score_test_cmn/report.html
    check "... its report draws each error with both words' state boundaries, and the durations" \
      bash -c "grep -q '<section id=\"alignments\">' '$hrep' && grep -q 'class=\"hyp-boundary\"' '$hrep' && grep -q '<section id=\"durations\">' '$hrep'"
  fi
fi

# ---------------------------------------------------------------- egs/tidigits
if $tidigits && [ -f "$corpus/train/wav.scp" ] && [ -f "$corpus/test/wav.scp" ]; then
  corpus=$(cd "$corpus" && pwd)
  echo "# egs/tidigits on $corpus"
  exp=$root/egs/tidigits/exp/classes_cmn_full_k5_i5_s0
  run tidigits tid_seeds --corpus "$corpus" --nj 2 --seeds 0,1,2,3,4; rc=$?
  check "tidigits coursework --seeds 0,1,2,3,4 exits 0, printing mean ± sd over 5 seeds" \
    test "$rc" -eq 0 -a -n "$(grep -E "$seeds_re" <<< "$out")"
  seeds_line=$out
  check "tidigits coursework (from the wavs): mean $(acc_of "$out") >= 0.97 (issue 4, acceptance 1)" ge "$(acc_of "$out")" 0.97
  keep_models "$exp" "$work/tid.s0.nj2"
  s0=$(tail -n 1 "$exp/score_test_cmn/accuracy.txt")
  run tidigits tid_stage4 --corpus "$corpus" --nj 2 --seeds 0,1,2,3,4 --stage 4; rc=$?
  check "tidigits --stage 4 --seeds 0,1,2,3,4 (scoring only) exits 0 with the same result" test "$rc" -eq 0 -a "$out" = "$seeds_line"
  rm -f "$exp"/*.mdl
  run tidigits tid_stage3 --corpus "$corpus" --nj 2 --stage 3; rc=$?
  check "tidigits --stage 3 (train + score, seed 0) exits 0 with seed 0's accuracy ($s0)" test "$rc" -eq 0 -a "$out" = "$s0"
  check "... remaking seed 0's model set byte for byte" same_models "$work/tid.s0.nj2" "$exp"
  run tidigits tid_nj1 --corpus "$corpus" --nj 1; rc=$?
  check "tidigits --nj 1 exits 0 with the same accuracy as --nj 2 ($s0)" test "$rc" -eq 0 -a "$out" = "$s0"
  check "tidigits --nj 1 and --nj 2: byte-identical model sets" same_models "$work/tid.s0.nj2" "$exp"

  run tidigits tid_provided --corpus "$corpus" --nj 2 --seeds 0,1,2,3,4 --use-provided-feats true; rc=$?
  check "tidigits --use-provided-feats true --seeds 0,1,2,3,4 exits 0, printing mean ± sd" \
    test "$rc" -eq 0 -a -n "$(grep -E "$seeds_re" <<< "$out")"
  check "tidigits coursework (provided features): mean $(acc_of "$out") >= 0.97 (issue 4, acceptance 1)" ge "$(acc_of "$out")" 0.97

  run tidigits tid_all --corpus "$corpus" --nj 2 --train-set all; rc=$?
  check "tidigits --train-set all exits 0 and prints an accuracy: $out (issue 4, acceptance 2)" \
    test "$rc" -eq 0 -a -n "$(grep -E "$one_re" <<< "$out")"
  check "... trained on all $(wc -l < "$root/egs/tidigits/data/train_all/text") training wavs" \
    test "$(wc -l < "$root/egs/tidigits/data/train_all/text")" -eq 2072
  run tidigits tid_hmm --corpus "$corpus" --nj 2 --stage 3 --model hmm; rc=$?
  check "tidigits --model hmm (coursework) exits 0 and prints an accuracy" test "$rc" -eq 0 -a -n "$(grep -E "$one_re" <<< "$out")"
  check "tidigits --model hmm: $(acc_of "$out") >= 0.9818 (issue 11 floor)" ge "$(acc_of "$out")" 0.9818

  # a raw corpus tree: .../{train,test}/{MAN,WOMAN}/SPK/<word><take>_endpt.wav, symlinks to the coursework's
  # 330 + 110 wavs; the data dirs, hence the model set, must be the coursework's
  raw=$work/raw
  for s in train test; do
    awk -v c="$corpus/$s" -v r="$raw/tidigits_$s" '{ n = split($2, p, "/")
        print c "/" $2, r "/" p[n - 2] "/" p[n - 1] "/" p[n] }' "$corpus/$s/wav.scp"
  done | while read -r src dst; do mkdir -p "${dst%/*}" && ln -s "$src" "$dst"; done
  run tidigits tid_raw --corpus "$raw" --nj 2; rc=$?
  check "tidigits on a raw {MAN,WOMAN}/SPK/*.wav tree exits 0 with the coursework's accuracy ($s0)" \
    test "$rc" -eq 0 -a "$out" = "$s0"
  check "... and the coursework's model set, byte for byte" same_models "$work/tid.s0.nj2" "$exp"
else
  echo "# egs/tidigits: skipped ($corpus has no train/wav.scp and test/wav.scp, or --tidigits false)"
fi
[ "$failed" -eq 0 ]
