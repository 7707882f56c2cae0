#!/usr/bin/env bash
# recipes/train_hmms.sh: one left-to-right GMM-HMM per class label (per word), in the shape of Kaldi's
# steps/train_mono.sh: an equal alignment (flat start), then --num-iters passes whose statistics are
# accumulated in --nj parallel jobs through --cmd, summed exactly and estimated, and the Gaussians per state
# grow from 1 to --num-gauss on the passes of --mix-up-at (HTK's HHEd MU, Kaldi's gmm-est --mix-up).
# --mode baum-welch: every pass sums over all paths (forward-backward) under the current models.
# --mode viterbi: as train_mono.sh, every pass accumulates along stored alignments (acc-hmms --alignments,
# Kaldi's gmm-acc-stats-ali): pass 0 along the equal alignment (align-hmms --equal, Kaldi's align-equal),
# and the passes of --realign-iters first realign with the current models (align-hmms, Kaldi's
# gmm-align-compiled); the other passes reuse the last alignment.  --realign-iters all realigns every pass
# (pass 0 too: the best path under 0.mdl, the statistics of cepstra train-hmms --mode viterbi).
# --nj 1 runs the same code path and gives the same bytes as any other --nj (and, for baum-welch or
# --realign-iters all, as cepstra train-hmms with the same options).  --class-opts FILE sets options per word
# (e.g. --num-states by word length: lines `<label> --num-states=5 --num-gauss=2`), recorded per class in
# 0.mdl for every pass.
#   cepstra init-hmms    equal segmentation, k-means per state (or HCompV global init)   -> EXPDIR/0.mdl
#   (viterbi) cepstra align-hmms --equal EXPDIR/0.mdl on split JOB                      -> EXPDIR/ali.JOB.ark
#   for x in 0 .. num_iters-1:
#     (viterbi, x in realign_iters) cepstra align-hmms EXPDIR/x.mdl on split JOB       -> EXPDIR/ali.JOB.ark
#     cepstra acc-hmms   EXPDIR/x.mdl on split JOB [--alignments EXPDIR/ali.JOB.ark]     -> EXPDIR/x.JOB.acc
#     cepstra est-hmms   sums EXPDIR/x.{1..nj}.acc, re-estimates, mixes up              -> EXPDIR/(x+1).mdl
#     EXPDIR/log/pass.x.log: the average log-likelihood per frame of pass x over all jobs (and, viterbi,
#     a line "pass x: realigned with x.mdl" or "pass x: not realigned: the alignment of pass r (r.mdl)",
#     or "... the equal alignment (align-hmms --equal)")
#   EXPDIR/final.mdl = the last model set; EXPDIR/ali.JOB.ark its Viterbi alignments (align-hmms),
#   EXPDIR/durations.JOB.tsv the per-state durations; logs in EXPDIR/log/.
# --stage x resumes at pass x (viterbi: the alignment pass x needs is made again first, from r.mdl for the
# last realigning pass r < x or the equal alignment, so a resumed run gives the bytes of an uninterrupted one).
# Run from an egs dir (it sources ./path.sh when there is one).

# Begin configuration section.
nj=4
cmd=run.pl
num_states=8       # emitting states per word
num_gauss=4        # Gaussians per state at the end
covariance=diag    # diag or full
num_iters=20       # training passes after the flat start
mode=baum-welch    # baum-welch or viterbi
realign_iters=     # viterbi: passes that realign first, e.g. "1 2 3 5 8", "all" or "none" (default: Kaldi's
                   # train_mono.sh list "1 2 3 4 5 6 7 8 9 10 12 14 16 18 20 23 26 29 32 35 38"); empty for
                   # baum-welch
topology=linear    # linear or skip
mix_up_at=         # passes after which the Gaussians per state grow, e.g. "2 4 6" (default: the first
                   # num_gauss-1 even passes, as train_mono.sh mixes up early, then keeps training)
init=segment       # segment (equal alignment + k-means) or global (HCompV)
seed=0
class_opts=        # per-word options file for init-hmms: `<label> --num-states=N --num-gauss=M ...` lines
hmm_opts=          # more options for init-hmms (floors: --var-floor --rel-var-floor --min-gaussian-occupancy
                   # --trans-floor; --allow-any-end; --self-loop)
frontend_opts=     # the features' pipeline, recorded in the model set (as for train_classes.sh)
stage=-1           # -1: from the flat start; x: from pass x
cleanup=true       # remove the statistics after each pass
align=true         # align the training data with final.mdl
# End configuration section.

echo "$0 $*" >&2

# shellcheck source=/dev/null
[ -f ./path.sh ] && . ./path.sh
[[ $0 == */* ]] && here=${0%/*} || here=.
root=${CEPSTRA_ROOT:-$(cd "$here/.." && pwd)}
PATH=$PATH:$root/scripts
help_message="usage: $0 [options] <data-dir> <exp-dir>
 e.g.: $0 --nj 4 --num-states 8 --num-gauss 4 data/train_cmn exp/hmm_s8_m4_diag
<data-dir> needs feats.scp (the final features) and text (utt label).
Options:
  --nj <n>                     # parallel jobs per pass [$nj]
  --cmd <run.pl|slurm.pl ...>  # how to run the jobs [$cmd]
  --num-states <s>             # emitting states per word [$num_states]
  --num-gauss <m>              # Gaussians per state at the end [$num_gauss]
  --covariance <diag|full>     # [$covariance]
  --num-iters <n>              # training passes [$num_iters]
  --mode <baum-welch|viterbi>  # statistics of a pass [$mode]
  --realign-iters <\"p p ...\"|all|none> # viterbi: passes that realign first; pass 0 without it uses the equal
                               # alignment [Kaldi's: 1 2 3 4 5 6 7 8 9 10 12 14 16 18 20 23 26 29 32 35 38]
  --topology <linear|skip>     # [$topology]
  --mix-up-at <\"p p ...\">      # passes after which to mix up [first num_gauss-1 even passes]
  --init <segment|global>      # [$init]
  --seed <s>                   # [$seed]
  --class-opts <file>          # per-word options (<label> --num-states=N --num-gauss=M ...) [$class_opts]
  --hmm-opts <opts>            # extra options of cepstra init-hmms [$hmm_opts]
  --frontend-opts <opts>       # the features' pipeline, recorded in the model set [$frontend_opts]
  --stage <n>                  # resume: -1 = flat start, x = pass x [$stage]
  --cleanup <true|false>       # remove the accumulators after use [$cleanup]
  --align <true|false>         # align the training data with final.mdl [$align]"
# shellcheck source=SCRIPTDIR/../scripts/parse_options.sh
. "$root/scripts/parse_options.sh"
set -euo pipefail

if [ $# -ne 2 ]; then printf '%s\n' "$help_message" >&2; exit 1; fi
data=$1; dir=$2

command -v cepstra >/dev/null || { echo "$0: cepstra is not on PATH (source an egs dir's path.sh)" >&2; exit 1; }
for f in "$data/feats.scp" "$data/text" ${class_opts:+"$class_opts"}; do
  [ -f "$f" ] || { echo "$0: no such file $f" >&2; exit 1; }
done
for v in num_iters num_states num_gauss; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "$0: --${v//_/-} must be a number, got ${!v}" >&2; exit 1; }
done
realign_list=
case $mode in
  viterbi)
    kaldi_realign_iters="1 2 3 4 5 6 7 8 9 10 12 14 16 18 20 23 26 29 32 35 38"
    if [ "$realign_iters" = all ]; then
      realign_iters=$(seq -s ' ' 0 $((num_iters - 1)))
    elif [ "$realign_iters" = none ]; then
      realign_iters=
    elif [ -z "${realign_iters// /}" ]; then
      realign_iters=$kaldi_realign_iters
    fi
    read -ra realign_words <<< "${realign_iters//,/ }"
    for p in "${realign_words[@]}"; do
      [[ $p =~ ^[0-9]+$ ]] || {
        echo "$0: --realign-iters must be pass numbers (e.g. \"1 2 3 5 8\"), all or none, got '$realign_iters'" >&2
        exit 1; }
      realign_list+=" $((10#$p))"
    done
    realign_list+=" " ;;
  baum-welch)
    if [ -n "${realign_iters// /}" ]; then
      echo "$0: --realign-iters applies to --mode viterbi only (Baum-Welch sums over all paths under the current" \
        "models in every pass); got '$realign_iters' with --mode baum-welch" >&2
      exit 1
    fi ;;
  *) echo "$0: --mode must be baum-welch or viterbi, got $mode" >&2; exit 1 ;;
esac
realigns() { [[ $realign_list == *" $1 "* ]]; }

if [ -z "$mix_up_at" ]; then
  for ((k = 1; k < num_gauss && 2 * k <= num_iters; k++)); do mix_up_at+="$((2 * k)) "; done
fi
read -ra mix_up_words <<< "$mix_up_at"
mix_up_list=$(IFS=,; echo "${mix_up_words[*]}")
mkdir -p "$dir/log"

split_data.sh --per-utt "$data" "$nj"
sdata=$data/split${nj}utt

read -ra hmm_opt_words <<< "$hmm_opts"
read -ra frontend_opt_words <<< "$frontend_opts"
mix_opt=()
[ -n "$mix_up_list" ] && mix_opt=("--mix-up-at=$mix_up_list")
class_opt=()
[ -n "$class_opts" ] && class_opt=("--class-opts=$class_opts")
if [ "$stage" -le -1 ]; then
  echo "$0: flat start ($init): $num_states states, $covariance covariance, mixing up to $num_gauss Gaussians after passes ${mix_up_at:-none}${class_opts:+ (per-word options: $class_opts)}" >&2
  # shellcheck disable=SC2086  # $cmd may carry options
  $cmd "$dir/log/init.log" \
    cepstra init-hmms "--num-states=$num_states" "--num-gauss=$num_gauss" "--covariance=$covariance" \
      "--num-iters=$num_iters" "--mode=$mode" "--topology=$topology" "--init=$init" "--seed=$seed" \
      "${mix_opt[@]}" "${class_opt[@]}" "${hmm_opt_words[@]}" "${frontend_opt_words[@]}" \
      "scp:$data/feats.scp" "$data/text" "$dir/0.mdl"
fi

# align_jobs <log-name> [align-hmms options] <model>: alignments of every job into $dir/ali.JOB.ark.
align_jobs() {
  local name=$1; shift
  # shellcheck disable=SC2086
  $cmd JOB=1:"$nj" "$dir/log/$name.JOB.log" \
    cepstra align-hmms "$@" "scp:$sdata/JOB/feats.scp" "$sdata/JOB/text" "ark:$dir/ali.JOB.ark"
}
first=$(( stage < 0 ? 0 : stage ))
ali_src=
if [ "$mode" = viterbi ] && [ "$first" -lt "$num_iters" ] && ! realigns "$first"; then
  # The alignment pass $first accumulates along: the equal alignment, or (resuming) that of the last
  # realigning pass before it, made again from its model (the ali.JOB.ark on disk may be another's).
  r=
  for ((p = first - 1; p >= 0; p--)); do if realigns "$p"; then r=$p; break; fi; done
  if [ -z "$r" ]; then
    echo "$0: equal alignment (align-hmms --equal) for pass $first" >&2
    align_jobs align_equal --equal "$dir/0.mdl"
    ali_src="the equal alignment (align-hmms --equal)"
  else
    echo "$0: resuming at pass $first: the alignment of pass $r made again with $r.mdl" >&2
    align_jobs "align.$r" "$dir/$r.mdl"
    ali_src="the alignment of pass $r ($r.mdl)"
  fi
fi

used_accs=()
for ((x = 0; x < num_iters; x++)); do
  [ "$stage" -le "$x" ] || continue
  ali_opt=() ali_line=
  if [ "$mode" = viterbi ]; then
    if realigns "$x"; then
      align_jobs "align.$x" "$dir/$x.mdl"
      ali_src="the alignment of pass $x ($x.mdl)"
      ali_line="pass $x: realigned with $x.mdl"
    else
      ali_line="pass $x: not realigned: $ali_src"
    fi
    ali_opt=("--alignments=ark:$dir/ali.JOB.ark")
  fi
  # shellcheck disable=SC2086
  $cmd JOB=1:"$nj" "$dir/log/acc.$x.JOB.log" \
    cepstra acc-hmms "${ali_opt[@]}" "$dir/$x.mdl" "scp:$sdata/JOB/feats.scp" "$sdata/JOB/text" "$dir/$x.JOB.acc"
  accs=()
  for ((n = 1; n <= nj; n++)); do accs+=("$dir/$x.$n.acc"); done
  # The pass's average log-likelihood per frame, over the jobs (weighted by their frames).
  for ((n = 1; n <= nj; n++)); do cat "$dir/log/acc.$x.$n.log"; done |
    awk -v x="$x" '/Overall average log-likelihood per frame/ { for (i = 1; i <= NF; i++) {
        if ($i == "frame") ll = $(i + 1); if ($i == "over") fr = $(i + 1) }; tot += ll * fr; frames += fr }
      END { if (frames > 0) printf "pass %d: average log-likelihood per frame %.6f over %d frames\n", x, tot / frames, frames;
            else printf "pass %d: no frames\n", x }' > "$dir/log/pass.$x.log"
  if [ -n "$ali_line" ]; then echo "$ali_line" >> "$dir/log/pass.$x.log"; fi
  while read -r line; do echo "$0: $line" >&2; done < "$dir/log/pass.$x.log"
  # The update (sum nj files, one M-step per word) is light: it runs here, as train_classes.sh does.
  est=(cepstra est-hmms "$dir/$x.mdl" "${accs[@]}" "$dir/$((x + 1)).mdl")
  if ! { echo "# ${est[*]}"; printf '# Started at %(%c)T\n' -1; "${est[@]}"; } > "$dir/log/update.$x.log" 2>&1; then
    tail -n 20 "$dir/log/update.$x.log" >&2
    echo "$0: cepstra est-hmms failed in pass $x, log is in $dir/log/update.$x.log" >&2; exit 1
  fi
  if $cleanup; then used_accs+=("${accs[@]}"); fi
done
if [ ${#used_accs[@]} -gt 0 ]; then rm -f "${used_accs[@]}"; fi

[ -f "$dir/$num_iters.mdl" ] || { echo "$0: $dir/$num_iters.mdl was not made" >&2; exit 1; }
cp "$dir/$num_iters.mdl" "$dir/final.mdl.tmp" && mv "$dir/final.mdl.tmp" "$dir/final.mdl"
if $align; then
  align_jobs align "--durations=$dir/durations.JOB.tsv" "$dir/final.mdl"
fi
echo "$0: Succeeded: $dir/final.mdl" >&2
