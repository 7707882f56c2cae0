#!/usr/bin/env bash
# egs/synth_digits/run.sh: the self-contained default recipe.  It synthesises its own corpus (the eleven
# digit words, Z 1-9 O, spoken by espeak-ng and flite voices varied in rate, pitch, gain, channel and noise;
# 8 kHz; train and test speakers disjoint; see local/make_corpus.sh, which installs espeak-ng, flite and
# sox with apt-get when run as root), then runs the same pipeline as egs/tidigits:
#   corpus + data prep -> validate -> MFCC + CMN + deltas -> per-class GMMs (EM) -> classify and score.
# Everything lands in corpus/, data/ and exp/ of this directory, logs in exp/*/log/.  The last line printed
# is the result, e.g. "accuracy 0.9167 (242/264)", or with --seeds "accuracy 0.9120 ± 0.0100 over 5 seeds
# (min ..., max ...)".  Each run also appends a line to exp/RESULTS.  A reference pipeline
# (kaldi-native-fbank + scikit-learn) scores about 0.91 at K=5 and 0.85 at K=1 on this corpus.
#
#   egs/synth_digits/run.sh
#   egs/synth_digits/run.sh --nj 4 --cmd slurm.pl --seeds 1,2,3
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
corpus=corpus            # where the synthetic corpus is made (made once, reused while up to date)
corpus_seed=1             # random draws of the corpus (voices, warps, noise)
corpus_opts=              # more options of local/make_corpus.sh, e.g. "--preset hard"
train_set=all             # accepted for symmetry with egs/tidigits: the synthetic train set is all of it
use_provided_feats=false  # accepted for symmetry with egs/tidigits: the synthetic corpus has no features
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
  --corpus DIR                    where to make (or find) the synthetic corpus [$corpus]
  --corpus-seed S                 seed of the corpus draws [$corpus_seed]
  --corpus-opts "..."             more options of local/make_corpus.sh [$corpus_opts]
  --stage N                       resume from stage N: 0 data, 1 validate, 2 features, 3 train, 4 score [$stage]
  --nj N                          parallel jobs [$nj]
  --cmd CMD                       run.pl or slurm.pl (default from cmd.sh) [$cmd]
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

case $corpus in
  /*) ;;
  corpus) corpus=$PWD/corpus ;;   # the default: in this directory
  *) corpus=$caller/$corpus ;;
esac
$use_provided_feats && { echo "$0: the synthetic corpus has no provided features" >&2; exit 1; }
case $train_set in coursework|all) ;; *) echo "$0: --train-set must be coursework or all" >&2; exit 1 ;; esac
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

if [ "$stage" -le 0 ]; then
  read -ra corpus_opt_words <<< "$corpus_opts"
  local/make_corpus.sh --seed "$corpus_seed" "${corpus_opt_words[@]}" "$corpus"
  local/prepare_data.sh "$corpus" "$train" "$test"
  mark data
fi

if [ "$stage" -le 1 ]; then
  for d in "$train" "$test"; do validate_data_dir.sh --no-feats "$d"; done
  mark validate
fi

if [ "$stage" -le 2 ]; then
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
  "synth_digits $tag" "${seed_list[*]}" "$nj" "$cmd" "$stage" $((wall / 100)) $((wall % 100)) "$stage_times" "$result" \
  >> exp/RESULTS
echo "$result"
