#!/usr/bin/env bash
# recipes/make_mfcc.sh: MFCC features for a Kaldi data dir, in --nj parallel jobs run through --cmd
# (Kaldi's steps/make_mfcc.sh).  Run from an egs dir (it sources ./path.sh when there is one).

# Begin configuration section.
nj=4
cmd=run.pl
mfcc_config=conf/mfcc.conf
compress=true           # store the features compressed (copy-feats --compress=true), as Kaldi does
cmvn_deltas=false       # true: per-utterance CMN then add-deltas, i.e. the final 39-dim features
norm_vars=false         # with --cmvn-deltas true: per-utterance variance normalisation too
write_utt2num_frames=true
allow_missing=0%        # utterances that may end without features (unreadable or too short), e.g. 1%
# End configuration section.

echo "$0 $*" >&2   # the command line, for the logs

# shellcheck source=/dev/null
[ -f ./path.sh ] && . ./path.sh
[[ $0 == */* ]] && here=${0%/*} || here=.
root=${CEPSTRA_ROOT:-$(cd "$here/.." && pwd)}   # (path.sh sets it: no process started)
PATH=$PATH:$root/scripts
help_message="usage: $0 [options] <data-dir> <log-dir> <feat-dir>
 e.g.: $0 --nj 4 data/train exp/make_mfcc/log data/train/data
Writes <feat-dir>/raw_mfcc_<name>.JOB.{ark,scp}, <data-dir>/feats.scp and utt2num_frames; logs in
<log-dir>/make_mfcc_<name>.JOB.log.  Fails (naming the utterance, its wav and the log) when a job fails
or when any utterance of <data-dir> has no features, unless --allow-missing allows it; then the lost
utterances are counted and named, and fix_data_dir.sh removes them from <data-dir>.
Options:
  --nj <n>                     # parallel jobs [$nj]
  --cmd <run.pl|slurm.pl ...>  # how to run the jobs [$cmd]
  --mfcc-config <file>         # options of cepstra compute-mfcc-feats [$mfcc_config]
  --compress <true|false>      # compress the stored features [$compress]
  --cmvn-deltas <true|false>   # apply per-utterance CMN and add deltas before storing [$cmvn_deltas]
  --norm-vars <true|false>     # with --cmvn-deltas true: normalise the variances too [$norm_vars]
  --write-utt2num-frames <true|false>  # [$write_utt2num_frames]
  --allow-missing <N%>         # at most N% of the utterances may end without features; unreadable
                               # wavs are then skipped with a warning (scp,p:) [$allow_missing]"
# shellcheck source=SCRIPTDIR/../scripts/parse_options.sh
. "$root/scripts/parse_options.sh"
set -euo pipefail

if [ $# -ne 3 ]; then printf '%s\n' "$help_message" >&2; exit 1; fi
data=${1%/}; logdir=$2; featdir=$3
name=${data##*/}

command -v cepstra >/dev/null || { echo "$0: cepstra is not on PATH (source an egs dir's path.sh)" >&2; exit 1; }
for f in "$data/wav.scp" "$mfcc_config"; do
  [ -f "$f" ] || { echo "$0: no such file $f" >&2; exit 1; }
done
if ! [[ $allow_missing =~ ^([0-9]+(\.[0-9]*)?)%?$ ]] || [ "${BASH_REMATCH[1]%%.*}" -gt 100 ]; then
  echo "$0: --allow-missing wants a percentage 0..100, e.g. 1%, got '$allow_missing'" >&2; exit 1
fi
allow_pct=${BASH_REMATCH[1]}
if [ ! -d "$featdir" ] || [ ! -d "$logdir" ] || [ ! -d "$data/conf" ]; then mkdir -p "$featdir" "$logdir" "$data/conf"; fi
[[ $featdir == /* ]] || featdir=$PWD/$featdir   # feats.scp holds absolute paths

scps=(); counts=()
for ((n = 1; n <= nj; n++)); do
  scps+=("$featdir/raw_mfcc_$name.$n.scp"); counts+=("$featdir/utt2num_frames_$name.$n")
done
if [ -f "$data/feats.scp" ]; then
  [ -d "$data/.backup" ] || mkdir "$data/.backup"
  echo "$0: moving $data/feats.scp to $data/.backup" >&2
  mv "$data/feats.scp" "$data/.backup/"
fi
old=()   # nothing of an earlier run can be merged into this one (rm only when there is something)
for f in "$data/utt2num_frames" "${scps[@]}" "${counts[@]}"; do [ ! -e "$f" ] || old+=("$f"); done
[ ${#old[@]} -eq 0 ] || rm -f "${old[@]}"

# The check runs beside the split and the feature jobs (it is waited for before anything relies on it: the
# merge below, which needs utt2spk sorted).
cepstra validate-data-dir --no-text --no-feats "$data" & validate_pid=$!
# Per-utterance split: features do not depend on the speaker (CMN here is per utterance).
split_data.sh --per-utt "$data" "$nj"
sdata=$data/split${nj}utt

# compute-mfcc-feats [| apply-cmvn | add-deltas] [| copy-feats --compress] > ark,scp
# (run.pl and slurm.pl run the pipeline with pipefail: a failure anywhere in it fails the job)
wavs=scp
[[ $allow_pct =~ ^0*(\.0*)?$ ]] || wavs=scp,p   # allowed losses: skip unreadable wavs
pipe=(cepstra compute-mfcc-feats "--config=$mfcc_config")
# the frame counts come from the extraction itself (CMN and deltas keep them): no second pass over the features
$write_utt2num_frames && pipe+=("--write-num-frames=ark,t:$featdir/utt2num_frames_$name.JOB")
pipe+=("$wavs:$sdata/JOB/wav.scp")
if $cmvn_deltas; then
  pipe+=(ark:- \| cepstra apply-cmvn "--norm-vars=$norm_vars" ark:- ark:- \| cepstra add-deltas ark:-)
fi
if $compress; then
  pipe+=(ark:- \| cepstra copy-feats --compress=true ark:-)
fi
pipe+=("ark,scp:$featdir/raw_mfcc_$name.JOB.ark,$featdir/raw_mfcc_$name.JOB.scp")

# explain UTTS-FILE LOGS...: one line per utterance of UTTS-FILE (at most 10): its wav and cepstra's message
# about it in the logs (ERROR or WARNING line), else the log's last line
explain() {
  local utts=$1; shift
  awk -v max=10 '
    FILENAME == ARGV[1] { if (n < max) { want[$1] = 1; order[n++] = $1 }; total++; next }
    FILENAME == ARGV[2] { if ($1 in want) { w = $0; sub(/^[^ \t]+[ \t]+/, "", w); wav[$1] = w }; next }
    FNR == 1 { lastlog = FILENAME }
    /^(ERROR|WARNING) / && match($0, /utterance [^ :(]+[: ]/) {
      u = substr($0, RSTART + 10, RLENGTH - 11)
      if ((u in want) && !(u in why)) { why[u] = $0; log_of[u] = FILENAME } }
    END { for (i = 0; i < n; i++) { u = order[i]
            printf "  %s (wav %s): %s (log %s)\n", u, wav[u], (u in why) ? why[u] : "no message in the logs", \
                   (u in log_of) ? log_of[u] : "?" }
          if (total > n) printf "  ... and %d more\n", total - n }' "$utts" "$data/wav.scp" "$@"
}

# shellcheck disable=SC2086  # $cmd may carry options, e.g. "slurm.pl --mem 2G"
if ! $cmd JOB=1:"$nj" "$logdir/make_mfcc_$name.JOB.log" "${pipe[@]}"; then
  # an invalid data dir is the reason to give first
  wait "$validate_pid" || { echo "$0: $data is not a valid data dir (see validate-data-dir's message above)" >&2; exit 1; }
  # name the failed jobs' utterances and logs (cepstra's ERROR line), not a later "cannot read"
  failed_logs=()
  for ((n = 1; n <= nj; n++)); do
    l=$logdir/make_mfcc_$name.$n.log
    grep -q '^# Ended (code 0)' "$l" 2>/dev/null || failed_logs+=("$l")
  done
  echo "$0: feature extraction failed for $data in ${#failed_logs[@]} of $nj jobs:" >&2
  for l in "${failed_logs[@]}"; do
    e=$(grep -m 1 '^ERROR ' "$l" || tail -n 3 "$l")
    u=$(sed -n 's/.*utterance \([^ :(]*\)[: ].*/\1/p' <<< "$e" | head -n 1)   # "utterance U: ..." or "utterance U (wav): ..."
    if [ -n "$u" ]; then
      w=$(awk -v u="$u" '$1 == u { sub(/^[^ \t]+[ \t]+/, ""); print; exit }' "$data/wav.scp")
      echo "$0: utterance $u (wav $w) failed; log $l:" >&2
    else
      echo "$0: log $l:" >&2
    fi
    printf '  %s\n' "$e" >&2
  done
  exit 1
fi

wait "$validate_pid" || { echo "$0: $data is not a valid data dir (see validate-data-dir's message above)" >&2; exit 1; }
# (bash built-ins where a process would do: a fork costs 2-5 ms, and the shell layer's budget is 0.1 s)
# merge: the parts are contiguous runs of utt2spk (sorted, as validate-data-dir checked), so their
# concatenation in order is sorted; read and written by bash itself
cat_parts() {  # cat_parts OUT FILE...: concatenate, and count the lines in n
  local -a lines=() f
  for f in "${@:2}"; do mapfile -t -O "${#lines[@]}" lines < "$f"; done
  n=${#lines[@]}
  if [ "$n" -gt 0 ]; then printf '%s\n' "${lines[@]}" > "$1"; else : > "$1"; fi
}
tmp=$data/.feats.scp.tmp
cat_parts "$tmp" "${scps[@]}"; nf=$n
mapfile -t u2s < "$data/utt2spk"; nu=${#u2s[@]}
if [ "$nf" -ne "$nu" ]; then
  # utterances of the data dir without features: skipped by compute-mfcc-feats (too short for one frame) or,
  # with --allow-missing, unreadable
  missing=$data/.missing_feats
  cut -d' ' -f1 "$tmp" | join -v 1 <(cut -d' ' -f1 "$data/utt2spk") - > "$missing"
  nm=$(wc -l < "$missing")
  pct=$(awk -v m="$nm" -v u="$nu" 'BEGIN { printf "%.2f", 100 * m / u }')
  logs=("$logdir/make_mfcc_$name".*.log)
  if awk -v m="$nm" -v u="$nu" -v a="$allow_pct" 'BEGIN { exit !(100 * m > a * u) }'; then
    echo "$0: no features for $nm of $nu utterances of $data ($pct%; --allow-missing $allow_missing):" >&2
    explain "$missing" "${logs[@]}" >&2
    rm -f "$tmp" "$missing" "${counts[@]}"
    echo "$0: fix the wavs, or allow the loss with --allow-missing N%" >&2
    exit 1
  fi
  echo "$0: lost $nm of $nu utterances of $data ($pct%, within --allow-missing $allow_missing):" >&2
  explain "$missing" "${logs[@]}" >&2
  rm -f "$missing"
fi
mv "$tmp" "$data/feats.scp"
if $write_utt2num_frames; then cat_parts "$data/utt2num_frames" "${counts[@]}"; fi
if [ "$nf" -eq "$nu" ]; then
  # the per-utterance split gets its parts' features too (written after the data dir's files, so the split
  # is up to date and the next per-utterance split, e.g. recipes/score.sh's, is not made again)
  for ((n = 1; n <= nj; n++)); do
    mapfile -t part < "${scps[n - 1]}"; printf '%s\n' "${part[@]}" > "$sdata/$n/feats.scp"
    if $write_utt2num_frames; then mapfile -t part < "${counts[n - 1]}"; printf '%s\n' "${part[@]}" > "$sdata/$n/utt2num_frames"; fi
  done
fi
if $write_utt2num_frames; then rm -f "${counts[@]}"; fi
mapfile -t conf < "$mfcc_config"; printf '%s\n' "${conf[@]}" > "$data/conf/mfcc.conf"
if [ "$nf" -ne "$nu" ]; then
  fix_data_dir.sh "$data" 2> "$logdir/fix_data_dir_$name.log" ||
    { cat "$logdir/fix_data_dir_$name.log" >&2; exit 1; }
  echo "$0: fix_data_dir.sh $data: kept the $nf utterances with features (originals in $data/.backup)" >&2
fi
echo "$0: Succeeded creating MFCC features for $name ($nf of $nu utterances)" >&2
