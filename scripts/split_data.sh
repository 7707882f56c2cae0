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

[ -s "$data/utt2spk" ] || { echo "$0: $data/utt2spk is empty" >&2; exit 1; }
# One awk pass (process launches were most of the cost of a split).  utt -> part: contiguous groups (of
# speakers, or of utterances with --per-utt) in utt2spk order, closing a part once it reaches its share of
# the utterances and never leaving a part empty.  Then each part's utt2spk and spk2utt (speakers in order
# of first appearance, as utt2spk_to_spk2utt.pl), every per-utterance file filtered into its parts, and
# each per-speaker line copied to every part holding one of the speaker's utterances (several with
# --per-utt).  A part that gets no line of a file still gets the file, empty, so later checks see the split.
[ ! -e "$out" ] || rm -rf "$out"
parts=()
for ((j = 1; j <= n; j++)); do parts+=("$out/$j"); done
mkdir -p "${parts[@]}"
inputs=(); counted=   # feats.scp and text should have a line per utterance: warned about otherwise
for f in feats.scp text; do [ -f "$data/$f" ] && counted+=" $f"; done
for f in $utt_files $spk_files; do
  [ "$f" != utt2spk ] && [ -f "$data/$f" ] && inputs+=("$data/$f")
done
awk -v n="$n" -v per_spk="$per_spk" -v prog="$0" -v out="$out" -v spk_files=" $spk_files " -v data="$data" -v counted="$counted" '
  function fail(msg) { printf "%s: %s\n", prog, msg > "/dev/stderr"; bad = 1; exit 3 }
  function closeall(name,   j) { for (j = 1; j <= n; j++) close(out "/" j "/" name) }
  FILENAME == ARGV[1] { if (NF != 2) fail("bad utt2spk line " FNR ": " $0)
    g = (per_spk == "true") ? $2 : $1
    if (FNR > 1 && g != prev && (g in idx)) dup = g
    if (!(g in idx)) idx[g] = ++ng
    utt[FNR] = $1; spk[FNR] = $2; grp[FNR] = idx[g]; cnt[idx[g]]++; prev = g; nu = FNR; next }
  FNR == 1 { if (!assigned) { assigned = 1; assign() }
    if (name != "") closeall(name)
    name = FILENAME; sub(/.*\//, "", name); names[++nn] = name; per_spk_file = index(spk_files, " " name " ") > 0
    for (j = 1; j <= n; j++) dest[j] = out "/" j "/" name }   # (paths made once per file, not per line)
  { lines[name]++ }
  !per_spk_file { if ($1 in u2p) print > dest[u2p[$1]]; next }
  ($1 in sp) { m = split(sp[$1], q, " "); for (i = 1; i <= m; i++) print > (out "/" q[i] "/" name) }
  END { if (bad) exit 3
    if (!assigned) { assigned = 1; assign() }
    # (counted here rather than by wc: a process per count was a third of the split time)
    m = split(counted, cf, " ")
    for (k = 1; k <= m; k++) if (lines[cf[k]] + 0 != nu)
      printf "** %s: warning: %s/utt2spk has %d lines, %s/%s %d; fix_data_dir.sh %s would fix this\n", prog, data, nu, data, cf[k], lines[cf[k]], data > "/dev/stderr"
    if (name != "") closeall(name)
    for (k = 1; k <= nn; k++) for (j = 1; j <= n; j++) { f = out "/" j "/" names[k]; printf "" >> f; close(f) } }
  function assign(   g, j, cum, i, p, s, f) {
    if (dup != "" && per_spk == "true") fail("speaker " dup " is not contiguous in utt2spk (make each speaker id a prefix of its utterance ids, sort with LC_ALL=C)")
    if (dup != "") fail("utterance " dup " appears twice in utt2spk")
    if (ng < n) fail(sprintf("cannot split %d %s into %d parts; lower the number of jobs%s", ng, (per_spk == "true") ? "speakers" : "utterances", n, (per_spk == "true") ? " or use --per-utt" : ""))
    for (j = 1; j <= n; j++) u2s_dest[j] = out "/" j "/utt2spk"
    j = 1; cum = 0
    for (g = 1; g <= ng; g++) { part[g] = j; cum += cnt[g]; if (j < n && (cum >= j * nu / n || ng - g == n - j)) j++ }
    for (i = 1; i <= nu; i++) { p = part[grp[i]]; u2p[utt[i]] = p; s = spk[i]
      print utt[i], s > u2s_dest[p]
      if (!((s, p) in s2u)) { s2u[s, p] = s; order[p, ++ns[p]] = s; sp[s] = (s in sp) ? sp[s] " " p : p }
      s2u[s, p] = s2u[s, p] " " utt[i] }
    closeall("utt2spk")
    for (p = 1; p <= n; p++) { f = out "/" p "/spk2utt"; printf "" > f
      for (i = 1; i <= ns[p]; i++) print s2u[order[p, i], p] > f
      close(f) } }
' "$data/utt2spk" "${inputs[@]}" || { rm -rf "$out"; exit 1; }
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
