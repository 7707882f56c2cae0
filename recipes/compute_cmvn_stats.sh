#!/usr/bin/env bash
# recipes/compute_cmvn_stats.sh: cepstral mean and variance statistics per speaker (or per utterance) of a
# data dir's features -> <data-dir>/cmvn.scp (Kaldi's steps/compute_cmvn_stats.sh).  For Kaldi-style
# per-speaker CMVN: apply-cmvn --utt2spk=ark:DATA/utt2spk scp:DATA/cmvn.scp scp:DATA/feats.scp ...
# (The digit recipes use it with --cmvn speaker: recipes/run_classes.sh, then recipes/apply_cmvn.sh.)

# Begin configuration section.
cmd=run.pl
per_utt=false     # true: statistics per utterance instead of per speaker
# End configuration section.

echo "$0 $*" >&2

# shellcheck source=/dev/null
[ -f ./path.sh ] && . ./path.sh
[[ $0 == */* ]] && here=${0%/*} || here=.
root=${CEPSTRA_ROOT:-$(cd "$here/.." && pwd)}   # (path.sh sets it: no process started)
PATH=$PATH:$root/scripts
help_message="usage: $0 [options] <data-dir> <log-dir> <cmvn-dir>
 e.g.: $0 data/train exp/make_mfcc/log data/train/data
Options:
  --cmd <run.pl|slurm.pl ...>  # how to run the job [$cmd]
  --per-utt <true|false>       # statistics per utterance [$per_utt]"
# shellcheck source=SCRIPTDIR/../scripts/parse_options.sh
. "$root/scripts/parse_options.sh"
set -euo pipefail

if [ $# -ne 3 ]; then printf '%s\n' "$help_message" >&2; exit 1; fi
data=$1; logdir=$2; cmvndir=$3
data=${data%/}; name=${data##*/}
command -v cepstra >/dev/null || { echo "$0: cepstra is not on PATH (source an egs dir's path.sh)" >&2; exit 1; }
for f in "$data/feats.scp" "$data/spk2utt"; do
  [ -f "$f" ] || { echo "$0: no such file $f" >&2; exit 1; }
done
mkdir -p "$logdir" "$cmvndir"
[[ $cmvndir == /* ]] || cmvndir=$PWD/$cmvndir   # (no process: each costs a few ms)

spk_opt=("--spk2utt=ark:$data/spk2utt")
$per_utt && spk_opt=()
# shellcheck disable=SC2086  # $cmd may carry options
$cmd "$logdir/cmvn_$name.log" \
  cepstra compute-cmvn-stats "${spk_opt[@]}" "scp:$data/feats.scp" \
    "ark,scp:$cmvndir/cmvn_$name.ark,$cmvndir/cmvn_$name.scp"
cp "$cmvndir/cmvn_$name.scp" "$data/cmvn.scp"

mapfile -t lines < "$data/cmvn.scp"; nc=${#lines[@]}
if $per_utt; then what=utterances; mapfile -t lines < "$data/feats.scp"; else what=speakers; mapfile -t lines < "$data/spk2utt"; fi
ns=${#lines[@]}
[ "$nc" -eq "$ns" ] || { echo "$0: $nc CMVN statistics for $ns $what" >&2; exit 1; }
echo "$0: Succeeded creating CMVN stats for $name" >&2
