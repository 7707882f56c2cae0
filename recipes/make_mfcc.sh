#!/usr/bin/env bash
# recipes/make_mfcc.sh: MFCC features for a Kaldi data dir, in --nj parallel jobs run through --cmd
# (Kaldi's steps/make_mfcc.sh).  Run from an egs dir (it sources ./path.sh when there is one).

# Begin configuration section.
nj=4
cmd=run.pl
mfcc_config=conf/mfcc.conf
compress=true           # store the features compressed (copy-feats --compress=true), as Kaldi does
cmvn_deltas=false       # true: per-utterance CMN then add-deltas, i.e. the final 39-dim features
write_utt2num_frames=true
# End configuration section.

echo "$0 $*" >&2   # the command line, for the logs

# shellcheck source=/dev/null
[ -f ./path.sh ] && . ./path.sh
root=$(cd "$(dirname "$0")/.." && pwd)
PATH=$PATH:$root/scripts
help_message="usage: $0 [options] <data-dir> <log-dir> <feat-dir>
 e.g.: $0 --nj 4 data/train exp/make_mfcc/log data/train/data
Writes <feat-dir>/raw_mfcc_<name>.JOB.{ark,scp}, <data-dir>/feats.scp and utt2num_frames; logs in
<log-dir>/make_mfcc_<name>.JOB.log.
Options:
  --nj <n>                     # parallel jobs [$nj]
  --cmd <run.pl|slurm.pl ...>  # how to run the jobs [$cmd]
  --mfcc-config <file>         # options of cepstra compute-mfcc-feats [$mfcc_config]
  --compress <true|false>      # compress the stored features [$compress]
  --cmvn-deltas <true|false>   # apply per-utterance CMN and add deltas before storing [$cmvn_deltas]
  --write-utt2num-frames <true|false>  # [$write_utt2num_frames]"
# shellcheck source=SCRIPTDIR/../scripts/parse_options.sh
. "$root/scripts/parse_options.sh"
set -euo pipefail

if [ $# -ne 3 ]; then printf '%s\n' "$help_message" >&2; exit 1; fi
data=$1; logdir=$2; featdir=$3
name=$(basename "$data")

command -v cepstra >/dev/null || { echo "$0: cepstra is not on PATH (source an egs dir's path.sh)" >&2; exit 1; }
for f in "$data/wav.scp" "$mfcc_config"; do
  [ -f "$f" ] || { echo "$0: no such file $f" >&2; exit 1; }
done
mkdir -p "$featdir" "$logdir"
featdir=$(cd "$featdir" && pwd)   # feats.scp holds absolute paths

if [ -f "$data/feats.scp" ]; then
  mkdir -p "$data/.backup"
  echo "$0: moving $data/feats.scp to $data/.backup" >&2
  mv "$data/feats.scp" "$data/.backup/"
fi
rm -f "$data/utt2num_frames"

validate_data_dir.sh --no-text --no-feats "$data"
# Per-utterance split: features do not depend on the speaker (CMN here is per utterance).
split_data.sh --per-utt "$data" "$nj"
sdata=$data/split${nj}utt

# compute-mfcc-feats [| apply-cmvn | add-deltas] [| copy-feats --compress] > ark,scp
pipe=(cepstra compute-mfcc-feats "--config=$mfcc_config")
# the frame counts come from the extraction itself (CMN and deltas keep them): no second pass over the features
$write_utt2num_frames && pipe+=("--write-num-frames=ark,t:$featdir/utt2num_frames_$name.JOB")
pipe+=("scp:$sdata/JOB/wav.scp")
if $cmvn_deltas; then
  pipe+=(ark:- \| cepstra apply-cmvn ark:- ark:- \| cepstra add-deltas ark:-)
fi
if $compress; then
  pipe+=(ark:- \| cepstra copy-feats --compress=true ark:-)
fi
pipe+=("ark,scp:$featdir/raw_mfcc_$name.JOB.ark,$featdir/raw_mfcc_$name.JOB.scp")
# shellcheck disable=SC2086  # $cmd may carry options, e.g. "slurm.pl --mem 2G"
$cmd JOB=1:"$nj" "$logdir/make_mfcc_$name.JOB.log" "${pipe[@]}"

scps=(); counts=()
for ((n = 1; n <= nj; n++)); do
  scps+=("$featdir/raw_mfcc_$name.$n.scp"); counts+=("$featdir/utt2num_frames_$name.$n")
done
sort -k1,1 "${scps[@]}" > "$data/feats.scp"
if $write_utt2num_frames; then
  sort -k1,1 "${counts[@]}" > "$data/utt2num_frames"
  rm -f "${counts[@]}"
fi
mkdir -p "$data/conf" && cp "$mfcc_config" "$data/conf/mfcc.conf"

nf=$(wc -l < "$data/feats.scp")
nu=$(wc -l < "$data/utt2spk")
if [ "$nf" -ne "$nu" ]; then
  echo "$0: features for only $nf of $nu utterances of $data (see $logdir/make_mfcc_$name.*.log);" \
       "fix_data_dir.sh $data would keep those" >&2
fi
if [ $((nf * 20)) -lt $((nu * 19)) ]; then
  echo "$0: less than 95% of the features were made: a serious error" >&2; exit 1
fi
echo "$0: Succeeded creating MFCC features for $name ($nf utterances)" >&2
