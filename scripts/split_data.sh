#!/usr/bin/env bash
# split_data.sh [--per-utt] DATA N: split a Kaldi data dir into N parts for N parallel jobs.
#
# Writes DATA/splitN/{1..N} (with --per-utt: DATA/splitNutt/{1..N}), each a data dir holding its share of
# every per-utterance file (wav.scp, text, utt2spk, feats.scp, utt2num_frames, utt2dur, segments, vad.scp),
# a spk2utt made from its utt2spk, and the per-speaker files (cmvn.scp, spk2gender) of its speakers.
# By default the split is per speaker (a speaker's utterances all go to one part, so per-speaker CMVN
# stays valid); parts are contiguous in utt2spk order and balanced by utterance count.  --per-utt
# ignores speakers.  Does nothing when the split is newer than every file it is made from.
# Kaldi's utils/split_data.sh contract.
set -euo pipefail
export LC_ALL=C

per_spk=true
if [ "${1:-}" = --per-utt ]; then per_spk=false; shift; fi
if [ $# -ne 2 ]; then
  cat >&2 <<EOT
usage: $0 [--per-utt] <data-dir> <num-to-split>
 e.g.: $0 data/train 4        # -> data/train/split4/{1,2,3,4}
       $0 --per-utt data/train 4   # -> data/train/split4utt/{1,2,3,4}
Splits per speaker by default; does nothing if the split is up to date.
EOT
  exit 1
fi
data=$1; n=$2
if ! [[ $n =~ ^[1-9][0-9]*$ ]]; then echo "$0: <num-to-split> must be a positive integer, got '$n'" >&2; exit 1; fi
[ -f "$data/utt2spk" ] || { echo "$0: no such file $data/utt2spk" >&2; exit 1; }

utt_files="utt2spk wav.scp text feats.scp utt2num_frames utt2dur segments vad.scp utt2lang"
spk_files="cmvn.scp spk2gender spk2warp"
if [ -f "$data/segments" ]; then
  utt_files=${utt_files/wav.scp /}   # wav.scp is then per recording: split below, through segments
fi

if $per_spk; then out=$data/split$n; else out=$data/split${n}utt; fi

# Up to date?  Every file of DATA present, not older, in part 1, and nothing in part 1 that DATA lost.
need=false
if [ ! -d "$out/$n" ] || [ ! -f "$out/1/spk2utt" ]; then
  need=true
else
  for f in $utt_files $spk_files wav.scp reco2file_and_channel; do
    if [ -f "$data/$f" ]; then
      if [ ! -f "$out/1/$f" ] || [ "$out/1/$f" -ot "$data/$f" ]; then need=true; fi
    elif [ -f "$out/1/$f" ]; then
      need=true
    fi
  done
fi
$need || exit 0

nu=$(wc -l < "$data/utt2spk")
for f in feats.scp text; do
  if [ -f "$data/$f" ] && [ "$(wc -l < "$data/$f")" -ne "$nu" ]; then
    echo "** $0: warning: $data/utt2spk has $nu lines, $data/$f $(wc -l < "$data/$f");" \
         "fix_data_dir.sh $data would fix this" >&2
  fi
done

# utt -> part.  Contiguous groups (of speakers, or of utterances with --per-utt) in utt2spk order,
# closing a part once it reaches its share of the utterances, and never leaving a part empty.
assign=$(mktemp)
trap 'rm -f "$assign"' EXIT
awk -v n="$n" -v per_spk="$per_spk" -v prog="$0" '
  NF != 2 { printf "%s: bad utt2spk line %d: %s\n", prog, NR, $0 > "/dev/stderr"; bad = 1; exit 3 }
  { g = (per_spk == "true") ? $2 : $1
    if (NR > 1 && g != prev && (g in idx)) dup = g
    if (!(g in idx)) idx[g] = ++ng
    utt[NR] = $1; grp[NR] = idx[g]; cnt[idx[g]]++; prev = g }
  END { if (bad) exit 3
    if (NR == 0) { printf "%s: utt2spk is empty\n", prog > "/dev/stderr"; exit 3 }
    if (dup != "" && per_spk == "true") { printf "%s: speaker %s is not contiguous in utt2spk (make each speaker id a prefix of its utterance ids, sort with LC_ALL=C)\n", prog, dup > "/dev/stderr"; exit 3 }
    if (dup != "") { printf "%s: utterance %s appears twice in utt2spk\n", prog, dup > "/dev/stderr"; exit 3 }
    if (ng < n) { printf "%s: cannot split %d %s into %d parts; lower the number of jobs%s\n", prog, ng, (per_spk == "true") ? "speakers" : "utterances", n, (per_spk == "true") ? " or use --per-utt" : "" > "/dev/stderr"; exit 3 }
    j = 1; cum = 0
    for (g = 1; g <= ng; g++) {
      part[g] = j; cum += cnt[g]
      if (j < n && (cum >= j * NR / n || ng - g == n - j)) j++
    }
    for (i = 1; i <= NR; i++) print utt[i], part[grp[i]]
  }' "$data/utt2spk" > "$assign"

for ((j = 1; j <= n; j++)); do
  mkdir -p "$out/$j"
  for f in $utt_files $spk_files wav.scp reco2file_and_channel spk2utt; do rm -f "$out/$j/$f"; done
done

# filter FILE by the first field, using MAP (key -> part), into OUT/<part>/NAME
split_by_key() {
  awk -v out="$out" -v name="$3" 'NR == FNR { part[$1] = $2; next }
    ($1 in part) { print > (out "/" part[$1] "/" name) }' "$1" "$2"
}
for f in $utt_files; do
  [ -f "$data/$f" ] && split_by_key "$assign" "$data/$f" "$f"
done
for ((j = 1; j <= n; j++)); do
  touch "$out/$j/utt2spk"
  "$(dirname "$0")/utt2spk_to_spk2utt.pl" "$out/$j/utt2spk" > "$out/$j/spk2utt"
done
# per-speaker files: a speaker goes to every part holding one of its utterances (several with --per-utt)
spkmap=$(awk 'NR == FNR { part[$1] = $2; next } { k = $2 " " part[$1]; if (!(k in seen)) { seen[k] = 1; print k } }' \
  "$assign" "$data/utt2spk")
for f in $spk_files; do
  [ -f "$data/$f" ] || continue
  awk -v out="$out" -v name="$f" 'NR == FNR { parts[$1] = parts[$1] " " $2; next }
    ($1 in parts) { m = split(parts[$1], p, " "); for (i = 1; i <= m; i++) print > (out "/" p[i] "/" name) }' \
    <(printf '%s\n' "$spkmap") "$data/$f"
done
if [ -f "$data/segments" ]; then   # recordings of each part's segments
  for ((j = 1; j <= n; j++)); do
    for f in wav.scp reco2file_and_channel; do
      [ -f "$data/$f" ] || continue
      awk 'NR == FNR { r[$2] = 1; next } ($1 in r)' "$out/$j/segments" "$data/$f" > "$out/$j/$f"
    done
  done
fi
# every file a part lacks entirely (no line for it) still exists, empty, so later checks see the split
for ((j = 1; j <= n; j++)); do
  for f in $utt_files $spk_files; do
    if [ -f "$data/$f" ] && [ ! -f "$out/$j/$f" ]; then : > "$out/$j/$f"; fi
  done
done
exit 0
