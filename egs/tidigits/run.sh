#!/usr/bin/env bash
# egs/tidigits/run.sh: isolated-digit recognition on TI digits with one GMM per word.
#   data prep -> validate -> MFCC + CMN + deltas -> per-class GMMs (EM) -> classify and score.
# Everything lands in data/ and exp/ of this directory, logs in exp/*/log/.  The last line printed is the
# result, e.g. "accuracy 0.9818 (108/110)", or with --seeds "accuracy 0.9782 ± 0.0050 over 5 seeds (min
# 0.9727, max 0.9818)" (mean, sample standard deviation).  Each run also appends a line to exp/RESULTS.
#
#   egs/tidigits/run.sh --corpus ../shared/data/ti-digits
#   egs/tidigits/run.sh --corpus DIR --seeds 1,2,3,4,5 --nj 4 --cmd slurm.pl
# DIR: the coursework layout (train/ and test/ Kaldi data dirs) or a raw corpus tree
# (.../{MAN,WOMAN}/SPK/<word><A|B>_endpt.wav): see local/prepare_data.sh.

caller=$PWD
cd "$(dirname "$0")" || exit 1
# shellcheck source=SCRIPTDIR/cmd.sh
. ./cmd.sh
# shellcheck source=SCRIPTDIR/path.sh
. ./path.sh || exit 1

# Begin configuration section.
stage=0
nj=4
cmd=$train_cmd
corpus=
train_set=coursework      # coursework (the 330 listed utterances) or all (every training wav)
use_provided_feats=false  # true: the corpus's feats.scp instead of features computed from the wavs
num_gauss=5
covariance=full
num_iters=5
seed=0
seeds=                    # e.g. 1,2,3,4,5: train and score once per seed, report mean ± sd
gmm_opts=                 # more options for cepstra init-classes
# End configuration section.
help_message=$(cat <<EOT
usage: $0 --corpus DIR [options]
Options [default]:
  --corpus DIR                    TI digits: coursework data dirs (train/, test/) or a raw corpus tree
  --stage N                       resume from stage N: 0 data, 1 validate, 2 features, 3 train, 4 score [$stage]
  --nj N                          parallel jobs [$nj]
  --cmd CMD                       run.pl or slurm.pl (default from cmd.sh) [$cmd]
  --train-set coursework|all      the 330 coursework utterances or all training wavs [$train_set]
  --use-provided-feats true|false use the corpus's features [$use_provided_feats]
  --num-gauss K                   Gaussians per word [$num_gauss]
  --covariance full|diag          [$covariance]
  --num-iters N                   EM passes [$num_iters]
  --seed S                        k-means seed [$seed]
  --seeds S1,S2,...               several seeds: mean ± sd of the accuracy [$seeds]
  --gmm-opts "..."                extra options of cepstra init-classes [$gmm_opts]
EOT
)
# shellcheck source=SCRIPTDIR/../../scripts/parse_options.sh
. parse_options.sh
set -euo pipefail

[ -n "$corpus" ] || { printf '%s\n' "$help_message" >&2; echo "$0: --corpus is required" >&2; exit 1; }
case $corpus in /*) ;; *) corpus=$caller/$corpus ;; esac
[ -d "$corpus" ] || { echo "$0: no such corpus directory $corpus" >&2; exit 1; }
IFS=, read -ra seed_list <<< "${seeds:-$seed}"
[ ${#seed_list[@]} -gt 0 ] || { echo "$0: empty --seeds" >&2; exit 1; }
# wall time per stage, for exp/RESULTS (bash's clock: no process launched)
start=${EPOCHREALTIME/./}; last=$start; stage_times=
mark() {  # mark NAME: the time since the previous mark
  local t=${EPOCHREALTIME/./} d
  d=$(( (t - last + 5000) / 10000 )); last=$t
  printf -v d '%d.%02d' $((d / 100)) $((d % 100))
  stage_times+="${stage_times:+ }$1 $d"
}

train=data/train; test=data/test; tag=${covariance}_k$num_gauss
[ "$train_set" = all ] && { train=data/train_all; tag=${tag}_all; }
if $use_provided_feats; then train=${train}_provided; test=data/test_provided; tag=${tag}_provided; fi

if [ "$stage" -le 0 ]; then
  local/prepare_data.sh --train-set "$train_set" --use-provided-feats "$use_provided_feats" \
    "$corpus" "$train" "$test"
  mark data
fi

if [ "$stage" -le 1 ]; then
  for d in "$train" "$test"; do
    if $use_provided_feats; then validate_data_dir.sh "$d"; else validate_data_dir.sh --no-feats "$d"; fi
  done
  mark validate
fi

if [ "$stage" -le 2 ] && ! $use_provided_feats; then
  # compute-mfcc-feats | apply-cmvn (per-utterance CMN) | add-deltas, as the coursework's features.
  # Train and test at the same time: on a cluster that is one scheduling round trip instead of two.
  pids=()
  for d in "$train" "$test"; do
    make_mfcc.sh --nj "$nj" --cmd "$cmd" --mfcc-config conf/mfcc.conf --compress false --cmvn-deltas true \
      "$d" exp/make_mfcc/log "$d/data" &
    pids+=($!)
  done
  ok=true
  for p in "${pids[@]}"; do wait "$p" || ok=false; done
  $ok || { echo "$0: feature extraction failed (logs in exp/make_mfcc/log)" >&2; exit 1; }
  for d in "$train" "$test"; do validate_data_dir.sh "$d"; done
  mark features
fi

if [ "$stage" -le 3 ]; then
  for s in "${seed_list[@]}"; do
    train_classes.sh --nj "$nj" --cmd "$cmd" --num-gauss "$num_gauss" --covariance "$covariance" \
      --num-iters "$num_iters" --seed "$s" --gmm-opts "$gmm_opts" "$train" "exp/classes_${tag}_s$s"
  done
  mark train
fi

if [ "$stage" -le 4 ]; then
  for s in "${seed_list[@]}"; do
    score.sh --nj "$nj" --cmd "$cmd" "exp/classes_${tag}_s$s/final.mdl" "$test" \
      "exp/classes_${tag}_s$s/score_$(basename "$test")"
  done
  mark score
fi

# The result: the last line printed.
accs=()
for s in "${seed_list[@]}"; do accs+=("exp/classes_${tag}_s$s/score_$(basename "$test")/accuracy.txt"); done
result=$(summarize_accuracy.sh "${accs[@]}")
wall=$(( (${EPOCHREALTIME/./} - start + 5000) / 10000 ))
printf '%s\t%s\tseeds %s\tnj %s\tcmd %s\tstage %s\twall %d.%02d s\tstages %s\t%s\n' "$(date -u +%FT%TZ)" \
  "tidigits $tag" "${seed_list[*]}" "$nj" "$cmd" "$stage" $((wall / 100)) $((wall % 100)) "$stage_times" "$result" \
  >> exp/RESULTS
echo "$result"
