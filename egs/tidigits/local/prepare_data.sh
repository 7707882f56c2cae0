#!/usr/bin/env bash
# local/prepare_data.sh [options] CORPUS TRAIN_DATA TEST_DATA: make Kaldi data dirs for isolated digits.
#
# CORPUS is either
#  (a) data-dir layout: CORPUS/train and CORPUS/test are Kaldi data dirs (wav.scp, text, optionally utt2spk,
#      feats.scp).  Relative wav paths are taken relative to the data dir (the coursework's), relative
#      feats.scp paths relative to CORPUS (the coursework's "train/feats.ark:15") or else to the data dir;
#      pipes ("sox ... |") and absolute paths are kept.  Without utt2spk the speaker is the wav's folder when
#      that is a prefix of the utterance id (the coursework: AC/ZB_endpt.wav is ACZB_endpt.wav), else the
#      utterance itself.
#  (b) a raw corpus tree, .../{MAN,WOMAN}/SPK/<word><A|B>_endpt.wav: <word> (Z, 1-9, O) is the label, SPK
#      the speaker, SPK<file name> the utterance id (so the coursework's ids are reused).  Files whose path
#      below CORPUS has a folder named *train* go to TRAIN_DATA, *test* to TEST_DATA.
# Options [default]:
#   --train-set coursework|all [coursework]  all: with layout (a), every <word><take>*.wav under CORPUS/train
#                                           instead of the listed utterances (layout (b) always uses all)
#   --use-provided-feats true|false [false]  copy the corpus's feats.scp (absolute paths) into the data dirs
# An utterance listed twice with different labels, wavs or speakers is an error that names it and both.
# Writes wav.scp (absolute paths; "cmd |" pipes as they are), text, utt2spk, spk2utt (and feats.scp),
# C-sorted.
set -euo pipefail
export LC_ALL=C

train_set=coursework
use_provided_feats=false
help_message=$(awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0")
scripts=$(cd "$(dirname "$0")/../../../scripts" && pwd)
# shellcheck source=SCRIPTDIR/../../../scripts/parse_options.sh
. "$scripts/parse_options.sh"
if [ $# -ne 3 ]; then printf '%s\n' "$help_message" >&2; exit 1; fi
corpus=$(cd "$1" && pwd) || { echo "$0: no such corpus directory $1" >&2; exit 1; }
tab=$'\t'
# every list is complete (its producer succeeded) before a data dir is written from it
list=$(mktemp)
trap 'rm -f "$list"' EXIT
train=$2; test=$3
case $train_set in coursework|all) ;; *) echo "$0: --train-set must be coursework or all, got $train_set" >&2; exit 1 ;; esac

# Speaker, label and utterance id from a wav path .../SPK/<label><take>...wav; prints "utt abs-path label spk"
# (tab-separated, as every producer of write_dir's input),
# skipping (and counting on stderr) files not named that way.
from_tree() {  # DIR [SUBDIR-REGEX]
  find -L "$1" -type f -iname '*.wav' | sort | awk -v re="${2:-}" -v root="$1" '
    { rel = substr($0, length(root) + 2)
      if (re != "" && tolower(rel) !~ re) next
      n = split($0, p, "/"); f = p[n]; spk = p[n - 1]
      if (n < 2 || f !~ /^[Z1-9O][A-Za-z0-9]*_?[^ ]*\.[wW][aA][vV]$/ || spk ~ / /) { bad++; next }
      print spk f "\t" $0 "\t" substr(f, 1, 1) "\t" spk }
    END { if (bad) printf "prepare_data.sh: skipped %d wav files not named SPK/<Z|1-9|O><take>...wav\n", bad > "/dev/stderr" }'
}

# Data dir from "utt<TAB>wav<TAB>label<TAB>spk" lines on stdin (wav: a path or a "cmd |" pipe).  An utterance
# listed twice must be listed the same way: two different wavs, labels or speakers are an error naming both.
write_dir() {  # OUT
  local out=$1 tmp
  tmp=$(mktemp)
  sort -t "$tab" -k1,1 -k2 -u | awk -F "$tab" -v out="$out" '
    $1 == prev { split(last, a, FS); what = ($2 != a[2]) ? "wav" : ($3 != a[3]) ? "label" : "speaker"; i = (what == "wav") ? 2 : (what == "label") ? 3 : 4
                 printf "prepare_data.sh: %s: utterance %s is listed twice with different %ss: %s and %s\n", out, $1, what, a[i], $i > "/dev/stderr"
                 err = 1; next }
    { print; prev = $1; last = $0 }
    END { exit err }' > "$tmp" || { rm -f "$tmp"; exit 1; }
  [ -s "$tmp" ] || { echo "$0: no utterances for $out" >&2; rm -f "$tmp"; exit 1; }
  mkdir -p "$out"
  rm -f "$out/feats.scp" "$out/cmvn.scp" "$out/utt2num_frames" "$out/spk2utt"
  awk -F "$tab" '{ print $1, $2 > o "/wav.scp"; print $1, $3 > o "/text"; print $1, $4 > o "/utt2spk" }' o="$out" "$tmp"
  rm -f "$tmp"
}

# Layout (a): the utterances of a data dir, as "utt<TAB>wav<TAB>label<TAB>spk".  An utterance listed twice in
# text (or utt2spk) with different labels (speakers) is an error naming both; the wav.scp duplicates are
# left to write_dir.
from_data_dir() {  # DATA-DIR
  local d files; d=$(cd "$1" && pwd)
  files=("$d/text"); [ -f "$d/utt2spk" ] && files+=("$d/utt2spk")
  for f in wav.scp text; do [ -f "$d/$f" ] || { echo "$0: no such file $d/$f" >&2; exit 1; }; done
  awk -v d="$d" '
    function dup(what, old) {
      if (old == "" || old == $2) return 0
      printf "%s line %d: utterance %s is listed twice with different %ss: %s and %s\n", FILENAME, FNR, $1, what, old, $2 > "/dev/stderr"
      err = 1; return 1 }
    FILENAME ~ /\/text$/ { if (NF != 2) { printf "%s: bad text line %d (want \"utt label\"): %s\n", FILENAME, FNR, $0 > "/dev/stderr"; err = 1; next }
                           if (!dup("label", lab[$1])) lab[$1] = $2; next }
    FILENAME ~ /\/utt2spk$/ { if (!dup("speaker", spk[$1])) spk[$1] = $2; next }
    { utt = $1; w = $0; sub(/^[^ \t]+[ \t]+/, "", w); sub(/[ \t]+$/, "", w)
      pipe = (w ~ /\|$/)
      if (!pipe && w !~ /^\//) w = d "/" w
      if (!(utt in lab)) { printf "%s/wav.scp: utterance %s has no label in text\n", d, utt > "/dev/stderr"; err = 1; next }
      if (utt in spk) s = spk[utt]
      else { n = split(w, p, "/"); s = (n >= 2 && !pipe && index(utt, p[n - 1]) == 1) ? p[n - 1] : utt }
      print utt "\t" w "\t" lab[utt] "\t" s }
    END { exit err }' "${files[@]}" "$d/wav.scp"
}

# The corpus's feats.scp with absolute archive paths (relative to CORPUS, else to the data dir).
provided_feats() {  # DATA-DIR OUT-DIR
  local d; d=$(cd "$1" && pwd)
  [ -f "$d/feats.scp" ] || { echo "$0: --use-provided-feats true, but there is no $d/feats.scp" >&2; exit 1; }
  awk -v c="$corpus" -v d="$d" '
    { p = $2; off = ""; if (match(p, /:[0-9]+$/)) { off = substr(p, RSTART); p = substr(p, 1, RSTART - 1) }
      if (p !~ /^\//) p = ((system("test -f \"" c "/" p "\"") == 0) ? c : d) "/" p
      print $1, p off }' "$d/feats.scp" | sort -k1,1 > "$2/feats.scp"
  # keep only the utterances that have features (and say so when some have none)
  local nf nu; nf=$(wc -l < "$2/feats.scp"); nu=$(wc -l < "$2/wav.scp")
  [ "$nf" -eq "$nu" ] || echo "$0: $d/feats.scp covers $nf of $nu utterances; fix_data_dir.sh $2 keeps those" >&2
}

if [ -f "$corpus/train/wav.scp" ] && [ -f "$corpus/test/wav.scp" ]; then
  if [ "$train_set" = all ]; then
    $use_provided_feats && { echo "$0: the corpus provides features only for the coursework set; use --train-set coursework or --use-provided-feats false" >&2; exit 1; }
    from_tree "$corpus/train" > "$list"
  else
    from_data_dir "$corpus/train" > "$list"
  fi
  write_dir "$train" < "$list"
  from_data_dir "$corpus/test" > "$list"
  write_dir "$test" < "$list"
  if $use_provided_feats; then provided_feats "$corpus/train" "$train"; provided_feats "$corpus/test" "$test"; fi
  layout="data dirs (train-set $train_set)"
else
  $use_provided_feats && { echo "$0: $corpus has no train/wav.scp and test/wav.scp, so no provided features" >&2; exit 1; }
  [ "$train_set" = all ] || echo "$0: $corpus is a raw corpus tree: using all of its wavs" >&2
  from_tree "$corpus" '(^|/)[^/]*train[^/]*/' > "$list"
  write_dir "$train" < "$list"
  from_tree "$corpus" '(^|/)[^/]*test[^/]*/' > "$list"
  write_dir "$test" < "$list"
  layout="raw tree"
fi

# spk2utt (speakers in order of first appearance, as utt2spk_to_spk2utt.pl writes it) and the checks: the
# speaker must be a prefix of the utterance id, and speakers contiguous in C sort order (Kaldi's sort-order
# rule); one awk for both dirs (a process per file and check was most of this stage's time)
awk -v prog="$0" '
  function done_dir() { if (d == "") return
    for (i = 1; i <= ns; i++) print line[i] > (d "/spk2utt"); close(d "/spk2utt")
    summary = summary sprintf("%s%s %d utts/%d spk", (summary == "") ? "" : ", ", d, nu, ns) }
  FNR == 1 { done_dir(); d = FILENAME; sub(/\/utt2spk$/, "", d); ns = 0; nu = 0; prev = "" }
  { if (NF != 2) { printf "%s: %s line %d: expected 2 fields \"utt spk\": %s\n", prog, FILENAME, FNR, $0 > "/dev/stderr"; exit 1 }
    if (index($1, $2) != 1) { printf "prepare_data.sh: %s: speaker %s is not a prefix of utterance %s\n", FILENAME, $2, $1 > "/dev/stderr"; exit 1 }
    if ($2 != prev) {
      if (prev != "" && ($2 "") < (prev "")) { printf "%s: %s: utterances are not grouped by speaker in C sort order\n", prog, FILENAME > "/dev/stderr"; exit 1 }
      line[++ns] = $2; prev = $2 }
    line[ns] = line[ns] " " $1; nu++ }
  END { done_dir(); printf "%s\n", summary > "/dev/stderr" }' "$train/utt2spk" "$test/utt2spk" 2> "$list" ||
  { cat "$list" >&2; exit 1; }
echo "$0: $corpus ($layout): $(< "$list")" >&2
