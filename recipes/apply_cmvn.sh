#!/usr/bin/env bash
# recipes/apply_cmvn.sh: the final features of a data dir as a new data dir: per-speaker CMN (or CMVN) with the
# statistics of compute_cmvn_stats.sh, then deltas, in --nj parallel jobs run through --cmd:
#   apply-cmvn --norm-vars=.. --utt2spk=ark:SRC/utt2spk scp:SRC/cmvn.scp scp:SRC/feats.scp ark:- | add-deltas
# (Kaldi's per-speaker CMVN, applied once and stored rather than in every training pass.)  <src-data> holds the
# raw features (make_mfcc.sh) and cmvn.scp; <dest-data> gets its wav.scp, text, utt2spk, spk2utt, the new
# feats.scp and utt2num_frames.  Run from an egs dir (it sources ./path.sh when there is one).

# Begin configuration section.
nj=4
cmd=run.pl
norm_vars=false   # normalise the variances too (CMVN), not only the means (CMN)
deltas=true       # add-deltas after the normalisation
# End configuration section.

echo "$0 $*" >&2

# shellcheck source=/dev/null
[ -f ./path.sh ] && . ./path.sh
[[ $0 == */* ]] && here=${0%/*} || here=.
root=${CEPSTRA_ROOT:-$(cd "$here/.." && pwd)}   # (path.sh sets it: no process started)
PATH=$PATH:$root/scripts
help_message="usage: $0 [options] <src-data> <log-dir> <dest-data>
 e.g.: $0 --norm-vars true data/train exp/make_mfcc/log data/train_spkcmvn
<src-data> needs feats.scp (raw features) and cmvn.scp (per-speaker statistics: compute_cmvn_stats.sh).
Options:
  --nj <n>                     # parallel jobs [$nj]
  --cmd <run.pl|slurm.pl ...>  # how to run the jobs [$cmd]
  --norm-vars <true|false>     # variance normalisation too [$norm_vars]
  --deltas <true|false>        # add-deltas after the normalisation [$deltas]"
# shellcheck source=SCRIPTDIR/../scripts/parse_options.sh
. "$root/scripts/parse_options.sh"
set -euo pipefail

if [ $# -ne 3 ]; then printf '%s\n' "$help_message" >&2; exit 1; fi
src=$1; logdir=$2; dest=$3
dest=${dest%/}; name=${dest##*/}
command -v cepstra >/dev/null || { echo "$0: cepstra is not on PATH (source an egs dir's path.sh)" >&2; exit 1; }
for f in "$src/feats.scp" "$src/cmvn.scp" "$src/utt2spk" "$src/spk2utt"; do
  [ -f "$f" ] || { echo "$0: no such file $f" >&2; exit 1; }
done
# (bash built-ins where a process would do: each one costs a few ms)
mkdir -p "$logdir" "$dest/data"
here_dir=$PWD; cd "$src"; src_abs=$PWD; cd "$here_dir"; cd "$dest"; dest_abs=$PWD; cd "$here_dir"
[ "$src_abs" != "$dest_abs" ] || { echo "$0: <src-data> and <dest-data> are the same directory" >&2; exit 1; }
featdir=$dest_abs/data
copy=() old=()
for f in feats.scp cmvn.scp wav.scp text utt2spk spk2utt utt2num_frames; do
  case $f in feats.scp | cmvn.scp) ;; *) if [ -f "$src/$f" ]; then copy+=("$src/$f"); continue; fi ;; esac
  [ ! -e "$dest/$f" ] || old+=("$dest/$f")
done
[ ${#old[@]} -eq 0 ] || rm -f "${old[@]}"
cp "${copy[@]}" "$dest/"

split_data.sh --per-utt "$src" "$nj"   # each part carries the cmvn.scp lines of its speakers
sdata=$src/split${nj}utt
scps=()
for ((n = 1; n <= nj; n++)); do scps+=("$featdir/feats_$name.$n.scp"); done
old=()
for f in "${scps[@]}"; do [ ! -e "$f" ] || old+=("$f"); done
[ ${#old[@]} -eq 0 ] || rm -f "${old[@]}"
pipe=(cepstra apply-cmvn "--norm-vars=$norm_vars" "--utt2spk=ark:$sdata/JOB/utt2spk" "scp:$sdata/JOB/cmvn.scp"
      "scp:$sdata/JOB/feats.scp")
$deltas && pipe+=(ark:- \| cepstra add-deltas ark:-)
pipe+=("ark,scp:$featdir/feats_$name.JOB.ark,$featdir/feats_$name.JOB.scp")
# shellcheck disable=SC2086  # $cmd may carry options
if ! $cmd JOB=1:"$nj" "$logdir/apply_cmvn_$name.JOB.log" "${pipe[@]}"; then
  for ((n = 1; n <= nj; n++)); do
    l=$logdir/apply_cmvn_$name.$n.log
    grep -q '^# Ended (code 0)' "$l" 2>/dev/null && continue
    echo "$0: job $n failed; log $l:" >&2
    { grep -m 1 '^ERROR ' "$l" || tail -n 3 "$l"; } | sed 's/^/  /' >&2
  done
  exit 1
fi
# the parts are contiguous runs of the sorted utterance list: in order, their concatenation is sorted
cat "${scps[@]}" > "$dest/feats.scp.tmp"
mapfile -t lines < "$dest/feats.scp.tmp"; nf=${#lines[@]}
mapfile -t lines < "$src/feats.scp"; nu=${#lines[@]}
if [ "$nf" -ne "$nu" ]; then
  rm -f "$dest/feats.scp.tmp"
  echo "$0: normalised features for only $nf of the $nu utterances of $src (logs $logdir/apply_cmvn_$name.*.log)" >&2
  exit 1
fi
mv "$dest/feats.scp.tmp" "$dest/feats.scp"
what=CMN; if $norm_vars; then what=CMVN; fi
if $deltas; then what+=" + deltas"; fi
echo "$0: Succeeded: $dest ($nf utterances, per-speaker $what)" >&2
