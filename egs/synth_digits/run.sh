#!/usr/bin/env bash
# egs/synth_digits/run.sh: the self-contained default recipe.  It synthesises its own corpus (the eleven
# digit words, Z 1-9 O, spoken by espeak-ng and flite voices varied in rate, pitch, gain, channel and noise;
# 8 kHz; train and test speakers disjoint; see local/make_corpus.sh, which installs espeak-ng, flite and
# sox with apt-get when run as root), then runs the same stages as egs/tidigits (recipes/run_classes.sh):
#   corpus + data prep -> validate -> MFCC + CMN + deltas -> per-class GMMs (EM; --model hmm: word HMMs)
#   -> classify and score.
# Everything lands in corpus/, data/ and exp/ of this directory, logs in exp/*/log/.  The last line printed
# is the result, e.g. "accuracy 0.9167 (242/264)", or with --seeds "accuracy 0.9120 ± 0.0100 over 5 seeds
# (min ..., max ...)".  Each run also appends a line to exp/RESULTS.  A reference pipeline
# (kaldi-native-fbank + scikit-learn) scores about 0.91 at K=5 and 0.85 at K=1 on this corpus.
#
#   egs/synth_digits/run.sh
#   egs/synth_digits/run.sh --cmvn speaker --norm-vars true
#   egs/synth_digits/run.sh --nj 4 --cmd slurm.pl --seeds 1,2,3
#   egs/synth_digits/run.sh --stage 3 --model hmm      # one left-to-right GMM-HMM per word (recipes/train_hmms.sh)
#   egs/synth_digits/run.sh --stage 3 --model hmm --num-states 8 --num-gauss 4 --hmm-mode viterbi --score viterbi
caller=$PWD
if [[ $0 == */* ]]; then cd "${0%/*}" || exit 1; fi   # (no dirname process)
# shellcheck source=SCRIPTDIR/cmd.sh
. ./cmd.sh
# shellcheck source=SCRIPTDIR/path.sh
. ./path.sh || exit 1

# Begin configuration section (this corpus's options; recipes/run_classes.sh adds the shared ones).
corpus=corpus             # where the synthetic corpus is made (made once, reused while up to date)
corpus_seed=1             # random draws of the corpus (voices, warps, noise)
corpus_opts=              # more options of local/make_corpus.sh, e.g. "--preset hard"
train_set=all             # accepted for symmetry with egs/tidigits: the synthetic train set is all of it
use_provided_feats=false  # accepted for symmetry with egs/tidigits: the synthetic corpus has no features
num_states=20             # --model hmm: states per word, the best measured on this corpus (3 seeds, M=4 diag,
                          # Baum-Welch: S20 0.9697, S25 0.9646, S12 0.9596, S8 0.9508; egs/RESULTS.md)
# End configuration section.
recipe=synth_digits
corpus_help="  --corpus DIR                    where to make (or find) the synthetic corpus [$corpus]
  --corpus-seed S                 seed of the corpus draws [$corpus_seed]
  --corpus-opts \"...\"             more options of local/make_corpus.sh [$corpus_opts]"

recipe_setup() {
  case $corpus in
    /*) ;;
    corpus) corpus=$PWD/corpus ;;   # the default: in this directory
    *) corpus=$caller/$corpus ;;
  esac
  if $use_provided_feats; then echo "$0: the synthetic corpus has no provided features" >&2; exit 1; fi
  case $train_set in coursework|all) ;; *) echo "$0: --train-set must be coursework or all" >&2; exit 1 ;; esac
  train=data/train; test=data/test
}
recipe_prepare() {
  local words
  read -ra words <<< "$corpus_opts"
  local/make_corpus.sh --seed "$corpus_seed" "${words[@]}" "$corpus"
  local/prepare_data.sh "$corpus" "$train" "$test"
}

# shellcheck source=SCRIPTDIR/../../recipes/run_classes.sh
. "$CEPSTRA_ROOT/recipes/run_classes.sh"
