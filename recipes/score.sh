#!/usr/bin/env bash
# recipes/score.sh: classify the utterances of a data dir with a model set (the class whose GMM gives the
# highest total log-likelihood wins) and score the hypotheses against <data-dir>/text.
# Writes <dir>/scores.tsv (utt, then one total log-likelihood per class), <dir>/hyp.txt (utt label),
# <dir>/acc.txt (the accuracy, as the coursework writes it), <dir>/accuracy.txt (the "%SER" and
# "accuracy 0.9818 (108/110)" lines), <dir>/report.html (setting, per-speaker table, the margin of every
# error, audio players, training curves); logs in <dir>/log/.  With --align-hmms true (an HMM set):
# <dir>/ali_ref.ark and <dir>/ali_hyp.ark, the Viterbi state sequences of every utterance against its
# reference and its recognised word (cepstra align-hmms), from which the report draws each error's features
# with both words' state boundaries and a per-state duration table per word.
# Run from an egs dir (it sources ./path.sh when there is one).

# Begin configuration section.
nj=1
cmd=run.pl
classify_opts=    # e.g. "--normalize-per-frame" or "--threshold -60 --unk <unk>"; HMM sets: "--score viterbi"
align_hmms=false  # HMM sets: align against the reference and the hypothesis, for the report
# End configuration section.

echo "$0 $*" >&2

# shellcheck source=/dev/null
[ -f ./path.sh ] && . ./path.sh
[[ $0 == */* ]] && here=${0%/*} || here=.
root=${CEPSTRA_ROOT:-$(cd "$here/.." && pwd)}   # (path.sh sets it: no process started)
PATH=$PATH:$root/scripts
help_message="usage: $0 [options] <model-set> <data-dir> <dir>
 e.g.: $0 exp/classes_cmn_full_k5_i5_s0/final.mdl data/test_cmn exp/classes_cmn_full_k5_i5_s0/score_test_cmn
Options:
  --nj <n>                     # parallel classification jobs [$nj]
  --cmd <run.pl|slurm.pl ...>  # how to run the jobs [$cmd]
  --classify-opts <opts>       # extra options of cepstra classify [$classify_opts]
  --align-hmms <true|false>    # HMM sets: the report's state boundaries and durations [$align_hmms]"
# shellcheck source=SCRIPTDIR/../scripts/parse_options.sh
. "$root/scripts/parse_options.sh"
set -euo pipefail

if [ $# -ne 3 ]; then printf '%s\n' "$help_message" >&2; exit 1; fi
mdl=$1; data=$2; dir=$3

command -v cepstra >/dev/null || { echo "$0: cepstra is not on PATH (source an egs dir's path.sh)" >&2; exit 1; }
for f in "$mdl" "$data/feats.scp" "$data/text"; do
  [ -f "$f" ] || { echo "$0: no such file $f" >&2; exit 1; }
done
mkdir -p "$dir/log"
old=()   # what an earlier run left (rm only when there is something: each process costs a few ms)
for f in hyp.txt scores.tsv acc.txt accuracy.txt report.html ali_ref.ark ali_hyp.ark; do [ ! -e "$dir/$f" ] || old+=("$dir/$f"); done
[ ${#old[@]} -eq 0 ] || rm -f "${old[@]}"
read -ra opt_words <<< "$classify_opts"

if [ "$nj" -eq 1 ]; then
  # shellcheck disable=SC2086  # $cmd may carry options
  $cmd "$dir/log/classify.log" \
    cepstra classify "${opt_words[@]}" "$mdl" "scp:$data/feats.scp" "$dir/scores.tsv" "$dir/hyp.txt"
else
  split_data.sh --per-utt "$data" "$nj"
  sdata=$data/split${nj}utt
  # shellcheck disable=SC2086
  $cmd JOB=1:"$nj" "$dir/log/classify.JOB.log" \
    cepstra classify "${opt_words[@]}" "$mdl" "scp:$sdata/JOB/feats.scp" "$dir/scores.JOB.tsv" "$dir/hyp.JOB.txt"
  # merge: the parts are contiguous runs of the C-sorted utterance list, so concatenating them in order
  # keeps the order; the score files share one header line (read and written by bash itself)
  parts=(); hyp=(); sc=()
  for ((n = 1; n <= nj; n++)); do
    mapfile -t -O "${#hyp[@]}" hyp < "$dir/hyp.$n.txt"
    mapfile -t lines < "$dir/scores.$n.tsv"
    if [ "$n" -eq 1 ]; then sc=("${lines[@]}"); else sc+=("${lines[@]:1}"); fi
    parts+=("$dir/hyp.$n.txt" "$dir/scores.$n.tsv")
  done
  printf '%s\n' "${hyp[@]}" > "$dir/hyp.txt"
  printf '%s\n' "${sc[@]}" > "$dir/scores.tsv"
  rm -f "${parts[@]}"
fi

mapfile -t hyp < "$dir/hyp.txt"; mapfile -t ref < "$data/text"
nh=${#hyp[@]}; nr=${#ref[@]}
[ "$nh" -eq "$nr" ] || echo "$0: warning: $nh hypotheses for $nr reference utterances" >&2

# the report: the setting, per-speaker accuracy (utt2spk), each error's margin and closest other class
# (scores.tsv, per frame with utt2num_frames), audio players (wav.scp), and the training curves with the
# final model's likelihood when train_classes.sh left its statistics (final.JOB.acc beside final.mdl)
report_opts=(--report "$dir/report.html" --models "$mdl" --data "$data" --scores "$dir/scores.tsv")
case " $classify_opts " in   # scores already per frame: shown as they are
  *" --normalize-per-frame "* | *" --normalize-per-frame=true "*) report_opts+=(--scores-per-frame) ;;
esac
finals=("${mdl%.mdl}".[0-9]*.acc)
if [ -f "${finals[0]}" ]; then printf -v f '%s,' "${finals[@]}"; report_opts+=(--final-accs "${f%,}"); fi
if $align_hmms; then
  # the Viterbi state sequences against the reference word and against the recognised one (both at once)
  # (against the hypothesis: the utterances recognised as a word of the model set, not rejected as --unk;
  # the words are scores.tsv's header)
  awk 'NR == FNR { if (FNR == 1) for (i = 2; i <= NF; i++) known[$i] = 1; next } ($2 in known)' \
    "$dir/scores.tsv" "$dir/hyp.txt" > "$dir/log/hyp_known.txt"
  awk 'NR == FNR { keep[$1] = 1; next } ($1 in keep)' "$dir/log/hyp_known.txt" "$data/feats.scp" > "$dir/log/feats_known.scp"
  pids=()
  cepstra align-hmms "$mdl" "scp:$data/feats.scp" "$data/text" "ark,t:$dir/ali_ref.ark" 2> "$dir/log/align_ref.log" &
  pids+=($!)
  if [ -s "$dir/log/hyp_known.txt" ]; then
    cepstra align-hmms "$mdl" "scp:$dir/log/feats_known.scp" "$dir/log/hyp_known.txt" "ark,t:$dir/ali_hyp.ark" \
      2> "$dir/log/align_hyp.log" &
    pids+=($!)
  fi
  for p in "${pids[@]}"; do
    wait "$p" || { cat "$dir/log/align_"*.log >&2; echo "$0: cepstra align-hmms failed (logs: $dir/log/align_*.log)" >&2; exit 1; }
  done
  report_opts+=(--feats "scp:$data/feats.scp" --ali-ref "ark:$dir/ali_ref.ark")
  if [ -s "$dir/log/hyp_known.txt" ]; then report_opts+=(--ali-hyp "ark:$dir/ali_hyp.ark"); fi
fi
if ! cepstra compute-accuracy "${report_opts[@]}" --acc-out "$dir/acc.txt" \
       "$data/text" "$dir/hyp.txt" > "$dir/accuracy.txt" 2> "$dir/log/compute_accuracy.log"; then
  cat "$dir/log/compute_accuracy.log" >&2
  echo "$0: cepstra compute-accuracy failed (log: $dir/log/compute_accuracy.log)" >&2; exit 1
fi
# per-class precision/recall and the confusion matrix are in the log; here the summary (%SER, accuracy)
mapfile -t summary < "$dir/accuracy.txt"
for ((n = 0; n < ${#summary[@]} - 1; n++)); do echo "$0: $dir: ${summary[n]}" >&2; done
echo "$0: $dir: ${summary[${#summary[@]} - 1]}; report: $dir/report.html" >&2
