#!/usr/bin/env bash
# egs/tidigits/run.sh: isolated-digit recognition on TI digits with one GMM per word (or, --model hmm, one
# left-to-right GMM-HMM per word).
#   data prep -> validate -> MFCC + CMN + deltas -> per-class GMMs (EM) or word HMMs -> classify and score.
# This file holds the data preparation and the defaults; the stages are recipes/run_classes.sh's (shared with
# egs/synth_digits).  Everything lands in data/ and exp/ of this directory, logs in exp/*/log/.  The last line
# printed is the result, e.g. "accuracy 0.9818 (108/110)", or with --seeds "accuracy 0.9782 ± 0.0050 over 5
# seeds (min 0.9727, max 0.9818)" (mean, sample standard deviation).  Each run also appends a line to
# exp/RESULTS.
#
#   egs/tidigits/run.sh --corpus ../shared/data/ti-digits
#   egs/tidigits/run.sh --corpus ../shared/data/ti-digits --cmvn speaker --norm-vars true
#   egs/tidigits/run.sh --corpus DIR --seeds 1,2,3,4,5 --nj 4 --cmd slurm.pl
#   egs/tidigits/run.sh --stage 3 --num-iters 10       # data/ exists: no --corpus needed
#   egs/tidigits/run.sh --stage 3 --model hmm      # one left-to-right GMM-HMM per word (recipes/train_hmms.sh)
#   egs/tidigits/run.sh --stage 3 --model hmm --num-states 8 --num-gauss 4 --hmm-mode viterbi --score viterbi
# DIR: the coursework layout (train/ and test/ Kaldi data dirs) or a raw corpus tree
# (.../{MAN,WOMAN}/SPK/<word><A|B>_endpt.wav): see local/prepare_data.sh.

caller=$PWD
if [[ $0 == */* ]]; then cd "${0%/*}" || exit 1; fi   # (no dirname process)
# shellcheck source=SCRIPTDIR/cmd.sh
. ./cmd.sh
# shellcheck source=SCRIPTDIR/path.sh
. ./path.sh || exit 1

# Begin configuration section (this corpus's options; recipes/run_classes.sh adds the shared ones).
corpus=                   # required for stage 0
train_set=coursework      # coursework (the 330 listed utterances) or all (every training wav)
use_provided_feats=false  # true: the corpus's feats.scp instead of features computed from the wavs
num_states=8              # --model hmm: states per word (M=4 diag, Baum-Welch: S8, S10, S12 and S15 all give
                          # 0.9818 on the coursework test, trained on 330 or 2072; S8 also fits the 17-frame wavs)
# End configuration section.
recipe=tidigits
corpus_help="  --corpus DIR                    TI digits: coursework data dirs (train/, test/) or a raw corpus tree
                                  (needed for stage 0 only)
  --train-set coursework|all      the 330 coursework utterances or all training wavs [$train_set]
  --use-provided-feats true|false use the corpus's features [$use_provided_feats]"

recipe_setup() {
  case $train_set in coursework|all) ;; *) echo "$0: --train-set must be coursework or all" >&2; exit 1 ;; esac
  train=data/train; test=data/test
  if [ "$train_set" = all ]; then train=data/train_all; fi
  if $use_provided_feats; then train=${train}_provided; test=data/test_provided; feats_from=provided; fi
  if [ "$stage" -le 0 ]; then
    [ -n "$corpus" ] || { printf '%s\n' "$help_message" >&2; echo "$0: --corpus is required for stage 0" >&2; exit 1; }
    case $corpus in /*) ;; *) corpus=$caller/$corpus ;; esac
    [ -d "$corpus" ] || { echo "$0: no such corpus directory $corpus" >&2; exit 1; }
  fi
}
recipe_prepare() {
  local/prepare_data.sh --train-set "$train_set" --use-provided-feats "$use_provided_feats" \
    "$corpus" "$train" "$test"
}

# shellcheck source=SCRIPTDIR/../../recipes/run_classes.sh
. "$CEPSTRA_ROOT/recipes/run_classes.sh"
