#!/usr/bin/env bash
# recipes/train_classes.sh: one GMM per class label (per digit), trained by EM whose statistics are
# accumulated in --nj parallel jobs through --cmd, summed and estimated, pass by pass (the acc -> sum -> est
# loop of Kaldi's sid/train_diag_ubm.sh).  --nj 1 runs the same code path, and gives the same model set.
#   cepstra init-classes   per-class k-means initialisation on all the data        -> EXPDIR/0.mdl
#   for x in 0 .. num_iters-1:
#     cepstra acc-classes  EXPDIR/x.mdl on split JOB                               -> EXPDIR/x.JOB.acc
#     cepstra est-classes  sums EXPDIR/x.{1..nj}.acc, estimates (here, not via --cmd) -> EXPDIR/(x+1).mdl
#   EXPDIR/final.mdl = the last model set; logs in EXPDIR/log/.
#   cepstra acc-classes    EXPDIR/final.mdl on split JOB (--final-accs true)         -> EXPDIR/final.JOB.acc
# EXPDIR/config records every setting that changes the model set (the data dir, its front-end record
# <data-dir>/frontend and conf/, and the options below except --nj, --cmd, --stage, --cleanup, which do not):
# a run with other settings refuses to write into a directory that holds models of another setting.
# Run from an egs dir (it sources ./path.sh when there is one).

# Begin configuration section.
nj=4
cmd=run.pl
num_gauss=5        # Gaussians per class
covariance=full    # full or diag
num_iters=5        # EM passes after the k-means initialisation
seed=0             # seed of the k-means initialisation
gmm_opts=          # more options for init-classes, e.g. "--init kmeans"
est_opts=          # options for est-classes (floors etc.)
frontend_opts=     # the features' pipeline, recorded in the model set (init-classes --feature-config --cmvn
                   # --norm-vars --deltas), e.g. "--feature-config=conf/mfcc.conf --cmvn=speaker"; for recognize
stage=-1           # -1: from the initialisation; x: from EM pass x
cleanup=true       # remove the statistics after each pass
final_accs=true    # one more acc-classes pass, of final.mdl: its training log-likelihood (EXPDIR/final.JOB.acc),
                   # the last point of the report's training curves (recipes/score.sh passes them on)
# End configuration section.

echo "$0 $*" >&2

# shellcheck source=/dev/null
[ -f ./path.sh ] && . ./path.sh
[[ $0 == */* ]] && here=${0%/*} || here=.
root=${CEPSTRA_ROOT:-$(cd "$here/.." && pwd)}   # (path.sh sets it: no process started)
PATH=$PATH:$root/scripts
help_message="usage: $0 [options] <data-dir> <exp-dir>
 e.g.: $0 --nj 4 --num-gauss 5 data/train_cmn exp/classes_cmn_full_k5_i5_s0
<data-dir> needs feats.scp (the final features: CMN and deltas already applied) and text (utt label).
Options:
  --nj <n>                     # parallel jobs per EM pass [$nj]
  --cmd <run.pl|slurm.pl ...>  # how to run the jobs [$cmd]
  --num-gauss <k>              # Gaussians per class [$num_gauss]
  --covariance <full|diag>     # [$covariance]
  --num-iters <n>              # EM passes [$num_iters]
  --seed <s>                   # k-means initialisation seed [$seed]
  --gmm-opts <opts>            # extra options of cepstra init-classes [$gmm_opts]
  --est-opts <opts>            # extra options of cepstra est-classes [$est_opts]
  --frontend-opts <opts>       # the features' pipeline, recorded in the model set [$frontend_opts]
  --stage <n>                  # resume: -1 = init, x = EM pass x [$stage]
  --cleanup <true|false>       # remove the accumulators after use [$cleanup]
  --final-accs <true|false>    # statistics of final.mdl, for its log-likelihood in the report [$final_accs]"
# shellcheck source=SCRIPTDIR/../scripts/parse_options.sh
. "$root/scripts/parse_options.sh"
set -euo pipefail

if [ $# -ne 2 ]; then printf '%s\n' "$help_message" >&2; exit 1; fi
data=$1; dir=$2

command -v cepstra >/dev/null || { echo "$0: cepstra is not on PATH (source an egs dir's path.sh)" >&2; exit 1; }
for f in "$data/feats.scp" "$data/text"; do
  [ -f "$f" ] || { echo "$0: no such file $f" >&2; exit 1; }
done
[[ $num_iters =~ ^[0-9]+$ ]] || { echo "$0: --num-iters must be a number >= 0, got $num_iters" >&2; exit 1; }
mkdir -p "$dir/log"

# The settings of this model set; models of other settings are never overwritten or mixed with these.
# (Built by bash itself, no process per line.)
here_dir=$PWD; cd "$data"; data_abs=$PWD; cd "$here_dir"
config="# recipes/train_classes.sh: the settings of the model set in this directory
data $data_abs"
if [ -f "$data/frontend" ]; then config+=$'\n'"frontend $(< "$data/frontend")"; fi
for f in "$data"/conf/*; do
  [ -f "$f" ] || continue
  c=; IFS= read -r -d '' c < "$f" || true
  config+=$'\n'"${f##*/} ${c//$'\n'/ }"
done
config+="
num_gauss $num_gauss
covariance $covariance
num_iters $num_iters
seed $seed
gmm_opts $gmm_opts
est_opts $est_opts
frontend_opts $frontend_opts"
if [ -f "$dir/config" ] && [ "$(< "$dir/config")" != "$config" ] && compgen -G "$dir/*.mdl" > /dev/null; then
  echo "$0: $dir holds models of other settings; not overwriting them.  Settings there / here:" >&2
  diff <(printf '%s\n' "$(< "$dir/config")") <(printf '%s\n' "$config") | sed -n 's/^[<>] /  /p' >&2 || true
  echo "$0: use another <exp-dir> (run.sh names it after the settings) or remove $dir" >&2
  exit 1
fi
printf '%s\n' "$config" > "$dir/config"
# Per-utterance split: the statistics are summed exactly, so any split gives the same model set, and
# make_mfcc.sh has usually left this one up to date (nothing to do); when not, it is made while init-classes
# runs (which reads the whole feats.scp, not the split).
split_data.sh --per-utt "$data" "$nj" & split_pid=$!
sdata=$data/split${nj}utt

read -ra gmm_opt_words <<< "$gmm_opts"
read -ra est_opt_words <<< "$est_opts"
read -ra frontend_opt_words <<< "$frontend_opts"
if [ "$stage" -le -1 ]; then
  echo "$0: initialising $num_gauss-Gaussian $covariance-covariance GMMs per class (k-means, seed $seed)" >&2
  # shellcheck disable=SC2086  # $cmd may carry options
  $cmd "$dir/log/init.log" \
    cepstra init-classes "--num-gauss=$num_gauss" "--covariance=$covariance" "--num-iters=$num_iters" "--seed=$seed" "${gmm_opt_words[@]}" "${frontend_opt_words[@]}" \
      "scp:$data/feats.scp" "$data/text" "$dir/0.mdl"
fi
wait "$split_pid" || { echo "$0: split_data.sh $data $nj failed" >&2; exit 1; }

used_accs=()
for ((x = 0; x < num_iters; x++)); do
  [ "$stage" -le "$x" ] || continue
  echo "$0: EM pass $x: accumulating in $nj jobs" >&2
  # shellcheck disable=SC2086
  $cmd JOB=1:"$nj" "$dir/log/acc.$x.JOB.log" \
    cepstra acc-classes "$dir/$x.mdl" "scp:$sdata/JOB/feats.scp" "$sdata/JOB/text" "$dir/$x.JOB.acc"
  accs=()
  for ((n = 1; n <= nj; n++)); do accs+=("$dir/$x.$n.acc"); done
  # The update (sum nj statistics files, one M-step per class) takes a fraction of a second: it runs here,
  # not through $cmd, which would cost a job submission per pass on a cluster (Kaldi's sum/est jobs are
  # as light).  Its log is written as run.pl writes one.
  est=(cepstra est-classes "${est_opt_words[@]}" "$dir/$x.mdl" "${accs[@]}" "$dir/$((x + 1)).mdl")
  if ! { echo "# ${est[*]}"; printf '# Started at %(%c)T\n' -1; "${est[@]}"; } > "$dir/log/update.$x.log" 2>&1; then
    tail -n 20 "$dir/log/update.$x.log" >&2
    echo "$0: cepstra est-classes failed in EM pass $x, log is in $dir/log/update.$x.log" >&2; exit 1
  fi
  if $cleanup; then used_accs+=("${accs[@]}"); fi
done
# the statistics of every pass, removed at once (one process, not one per pass), while the rest runs
rm_pid=
if [ ${#used_accs[@]} -gt 0 ]; then rm -f "${used_accs[@]}" & rm_pid=$!; fi

[ -f "$dir/$num_iters.mdl" ] || { echo "$0: $dir/$num_iters.mdl was not made" >&2; exit 1; }
cp "$dir/$num_iters.mdl" "$dir/final.mdl.tmp" && mv "$dir/final.mdl.tmp" "$dir/final.mdl"
old_finals=("$dir"/final.[0-9]*.acc)
if [ -e "${old_finals[0]}" ]; then rm -f "${old_finals[@]}"; fi
if $final_accs; then
  # shellcheck disable=SC2086
  $cmd JOB=1:"$nj" "$dir/log/acc.final.JOB.log" \
    cepstra acc-classes "$dir/final.mdl" "scp:$sdata/JOB/feats.scp" "$sdata/JOB/text" "$dir/final.JOB.acc"
fi
[ -z "$rm_pid" ] || wait "$rm_pid"
echo "$0: Succeeded: $dir/final.mdl" >&2
