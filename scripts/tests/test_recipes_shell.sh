#!/usr/bin/env bash
# Tests of the shell layer that needs no cepstra binary and no corpus: scripts/parse_options.sh,
# scripts/split_data.sh, scripts/utt2spk_to_spk2utt.pl, scripts/summarize_accuracy.sh and
# egs/tidigits/local/prepare_data.sh (on made-up corpus layouts of empty wav files).
# Usage: scripts/tests/test_recipes_shell.sh
# Prints one line per check and, last, "N passed, M failed"; exits 1 if any failed.
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
scripts=$root/scripts
work=$(mktemp -d /tmp/test_recipes_shell.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1

passed=0 failed=0
# shellcheck source=SCRIPTDIR/checks.sh
. "$here/checks.sh"
same() { cmp -s "$1" "$2"; }       # same FILE FILE

# ---------------------------------------------------------------- parse_options.sh
cat > opts.sh <<EOT
#!/usr/bin/env bash
set -euo pipefail
nj=4; cmd=run.pl; use_gpu=false; mfcc_config=conf/mfcc.conf; gmm_opts=
help_message="usage: opts.sh [options] <a> <b>"
. "$scripts/parse_options.sh"
printf 'nj=%s|cmd=%s|use_gpu=%s|mfcc_config=%s|gmm_opts=%s|args=%s|n=%s\n' \
  "\$nj" "\$cmd" "\$use_gpu" "\$mfcc_config" "\$gmm_opts" "\$*" "\$#"
EOT
chmod +x opts.sh
out=$(./opts.sh --nj 8 --mfcc-config c.conf x y 2>&1)
check "--foo-bar VALUE sets foo_bar, positional args stay" test "$out" = "nj=8|cmd=run.pl|use_gpu=false|mfcc_config=c.conf|gmm_opts=|args=x y|n=2"
out=$(./opts.sh --nj=3 --use-gpu=true a 2>&1)
check "--foo-bar=VALUE form" test "$out" = "nj=3|cmd=run.pl|use_gpu=true|mfcc_config=conf/mfcc.conf|gmm_opts=|args=a|n=1"
out=$(./opts.sh --cmd "slurm.pl --mem 2G" --gmm-opts "--init kmeans --tol 0" a 2>&1)
check "values with spaces and leading dashes are kept whole" test "$out" = "nj=4|cmd=slurm.pl --mem 2G|use_gpu=false|mfcc_config=conf/mfcc.conf|gmm_opts=--init kmeans --tol 0|args=a|n=1"
out=$(./opts.sh --nj 2 -- --not-an-option 2>&1)
check "-- ends the options" test "$out" = "nj=2|cmd=run.pl|use_gpu=false|mfcc_config=conf/mfcc.conf|gmm_opts=|args=--not-an-option|n=1"
out=$(./opts.sh --nj 5 2>&1)
check "no positional arguments" test "$out" = "nj=5|cmd=run.pl|use_gpu=false|mfcc_config=conf/mfcc.conf|gmm_opts=|args=|n=0"
./opts.sh --num-jobs 8 a > err.1 2>&1
check "an undefined option fails (exit 1)" test $? -eq 1
check "... naming the option" has err.1 'invalid option --num-jobs'
./opts.sh --use-gpu yes a > err.2 2>&1
check "a boolean option rejects a non-boolean value" test $? -eq 1
check "... saying what it expects" has err.2 'expects true or false'
./opts.sh --nj > err.3 2>&1
check "an option without a value fails" test $? -eq 1
./opts.sh --cmd "" a > err.4 2>&1
check "an empty --cmd fails" test $? -eq 1
./opts.sh --help > out.5 2> err.5
check "--help exits 0" test $? -eq 0
check "--help prints \$help_message on stderr" has err.5 '^usage: opts.sh'
printf 'nj=16\ncmd="queue.pl -q x"\n' > my.conf
out=$(./opts.sh --config my.conf --nj 2 a 2>&1)
check "--config is sourced, the command line wins" test "$out" = "nj=2|cmd=queue.pl -q x|use_gpu=false|mfcc_config=conf/mfcc.conf|gmm_opts=|args=a|n=1"
out=$(./opts.sh --nj 2 --config=my.conf a 2>&1)
check "--config=FILE, even after the option it sets" test "$out" = "nj=2|cmd=queue.pl -q x|use_gpu=false|mfcc_config=conf/mfcc.conf|gmm_opts=|args=a|n=1"
./opts.sh --config missing.conf a > err.6 2>&1
check "a missing --config file fails" test $? -eq 1
./opts.sh '--n;j' 1 a > err.7 2>&1
check "an option that is no shell name fails" test $? -eq 1

# ---------------------------------------------------------------- utt2spk_to_spk2utt.pl
printf 'a-1 a\na-2 a\nb-1 b\nc-1 c\nc-2 c\n' > u2s
"$scripts/utt2spk_to_spk2utt.pl" u2s > s2u
printf 'a a-1 a-2\nb b-1\nc c-1 c-2\n' > s2u.expected
check "utt2spk_to_spk2utt.pl groups utterances per speaker" same s2u s2u.expected
printf 'x y z\n' | "$scripts/utt2spk_to_spk2utt.pl" > /dev/null 2>&1
check "utt2spk_to_spk2utt.pl rejects a 3-field line" test $? -ne 0

# ---------------------------------------------------------------- split_data.sh
# 6 speakers with 3, 1, 4, 2, 2, 5 utterances (17 in all)
d=data/train; mkdir -p $d
for s in aa:3 bb:1 cc:4 dd:2 ee:2 ff:5; do
  for ((i = 1; i <= ${s#*:}; i++)); do echo "${s%:*}-u$i ${s%:*}"; done
done > $d/utt2spk
"$scripts/utt2spk_to_spk2utt.pl" $d/utt2spk > $d/spk2utt
awk '{ print $1, "/w/" $1 ".wav" }' $d/utt2spk > $d/wav.scp
awk '{ print $1, NR % 11 }' $d/utt2spk > $d/text
awk '{ print $1, "/f/feats.ark:" NR * 100 }' $d/utt2spk > $d/feats.scp
awk '{ print $1, 50 + NR }' $d/utt2spk > $d/utt2num_frames
awk '{ print $1, "/f/cmvn.ark:" NR }' $d/spk2utt > $d/cmvn.scp

"$scripts/split_data.sh" $d 3 > err.s1 2>&1
check "split_data.sh data 3 exits 0" test $? -eq 0
check "it writes split3/{1,2,3}" test -d $d/split3/1 -a -d $d/split3/2 -a -d $d/split3/3 -a ! -e $d/split3/4
for f in utt2spk wav.scp text feats.scp utt2num_frames; do
  cat $d/split3/{1,2,3}/$f > cat.$f
  check "the parts of $f, in order, are exactly $f" same cat.$f $d/$f
done
cat $d/split3/{1,2,3}/cmvn.scp > cat.cmvn
check "the parts of cmvn.scp (per speaker) are exactly cmvn.scp" same cat.cmvn $d/cmvn.scp
nonempty=0; for j in 1 2 3; do [ -s $d/split3/$j/utt2spk ] && nonempty=$((nonempty + 1)); done
check "no part is empty" test $nonempty -eq 3
spk_parts=$(for j in 1 2 3; do cut -d' ' -f2 $d/split3/$j/utt2spk | sort -u; done | sort | uniq -d | wc -l)
check "every speaker is in one part only" test "$spk_parts" -eq 0
for j in 1 2 3; do
  "$scripts/utt2spk_to_spk2utt.pl" $d/split3/$j/utt2spk > s2u.$j
  check "part $j: spk2utt matches its utt2spk" same s2u.$j $d/split3/$j/spk2utt
  check "part $j: cmvn.scp has exactly its speakers" \
    test "$(cut -d' ' -f1 $d/split3/$j/cmvn.scp)" = "$(cut -d' ' -f1 $d/split3/$j/spk2utt)"
done
sizes=$(for j in 1 2 3; do wc -l < $d/split3/$j/utt2spk; done | tr '\n' ' ')
check "parts are balanced by utterances (3+1+4 | 2+2 | 5 = 8 4 5)" test "$sizes" = "8 4 5 "

m1=$(stat -c %Y.%y $d/split3/2/feats.scp); sleep 1.1
"$scripts/split_data.sh" $d 3 > /dev/null 2>&1
check "a second run with nothing changed leaves the split alone" test "$m1" = "$(stat -c %Y.%y $d/split3/2/feats.scp)"
awk '{ print $1, ($2 + 1) % 11 }' $d/text > text.new && mv text.new $d/text
"$scripts/split_data.sh" $d 3 > /dev/null 2>&1
cat $d/split3/{1,2,3}/text > cat.text2
check "a newer text is split again" same cat.text2 $d/text
mv $d/utt2num_frames utt2num_frames.saved
"$scripts/split_data.sh" $d 3 > /dev/null 2>&1
check "a file gone from the data dir is gone from the split" test ! -e $d/split3/1/utt2num_frames
mv utt2num_frames.saved $d/utt2num_frames

"$scripts/split_data.sh" $d 1 > /dev/null 2>&1
check "split into 1 part is the whole data dir" same $d/split1/1/feats.scp $d/feats.scp
"$scripts/split_data.sh" $d 7 > err.s2 2>&1
check "more parts than speakers fails" test $? -ne 0
check "... suggesting --per-utt" has err.s2 'per-utt'
"$scripts/split_data.sh" --per-utt $d 7 > /dev/null 2>&1
check "--per-utt 7 writes split7utt" test -d $d/split7utt/7 -a ! -e $d/split7/1
cat $d/split7utt/{1..7}/feats.scp > cat.f7
check "--per-utt parts, in order, are exactly feats.scp" same cat.f7 $d/feats.scp
sizes=$(for j in 1 2 3 4 5 6 7; do wc -l < $d/split7utt/$j/utt2spk; done | sort -n | uniq | tr '\n' ' ')
check "--per-utt parts hold 2 or 3 utterances (17 = 3*3 + 4*2)" test "$sizes" = "2 3 "
check "--per-utt: a speaker split across parts has its cmvn.scp line in each" \
  test "$(cat $d/split7utt/{1..7}/cmvn.scp | sort -u | wc -l)" -eq 6 -a "$(cat $d/split7utt/{1..7}/cmvn.scp | wc -l)" -gt 6
"$scripts/split_data.sh" --per-utt $d 17 > /dev/null 2>&1
check "--per-utt with one utterance per part" test "$(cat $d/split17utt/*/utt2spk | wc -l)" -eq 17 -a -s $d/split17utt/17/utt2spk
"$scripts/split_data.sh" $d 0 > /dev/null 2>&1
check "N = 0 fails" test $? -ne 0
"$scripts/split_data.sh" $d > /dev/null 2>&1
check "a missing argument fails" test $? -ne 0
mkdir -p data/bad && printf 'a-1 a\nb-1 b\na-2 a\n' > data/bad/utt2spk
"$scripts/split_data.sh" data/bad 2 > err.s3 2>&1
check "a speaker that is not contiguous in utt2spk fails" test $? -ne 0
check "... naming the speaker" has err.s3 'speaker a is not contiguous'

# ---------------------------------------------------------------- summarize_accuracy.sh
# expected figures from Python's statistics.mean/stdev of 108/110, 107/110, 109/110, 108/110, 107/110
i=0; for c in 108 107 109 108 107; do
  i=$((i + 1)); printf '%%SER x\naccuracy %s (%d/110)\n' "$(awk -v c=$c 'BEGIN { printf "%.4f", c / 110 }')" "$c" > acc.$i
done
check "one run: its accuracy line" test "$("$scripts/summarize_accuracy.sh" acc.1)" = "accuracy 0.9818 (108/110)"
check "five runs: mean ± sample sd, min, max" \
  test "$("$scripts/summarize_accuracy.sh" acc.{1..5})" = "accuracy 0.9800 ± 0.0076 over 5 seeds (min 0.9727, max 0.9909)"
echo "accuracy: none" > acc.bad
"$scripts/summarize_accuracy.sh" acc.1 acc.bad > /dev/null 2>&1
check "a file without an accuracy line fails" test $? -ne 0

# ---------------------------------------------------------------- egs/tidigits/local/prepare_data.sh
prep=$root/egs/tidigits/local/prepare_data.sh
c=$work/cw   # the coursework layout, with empty wavs (prepare_data.sh does not read them)
for f in train/isolated_digits_ti_train_endpt/MAN/AE/1A_endpt.wav train/isolated_digits_ti_train_endpt/MAN/AE/OB_endpt.wav \
         train/isolated_digits_ti_train_endpt/WOMAN/AC/ZB_endpt.wav train/isolated_digits_ti_train_endpt/WOMAN/AC/9A_endpt.wav \
         test/isolated_digits_ti_test_endpt/MAN/AH/3B_endpt.wav test/isolated_digits_ti_test_endpt/WOMAN/AK/1B_endpt.wav; do
  mkdir -p "$c/${f%/*}"; : > "$c/$f"
done
printf 'AE1A_endpt.wav isolated_digits_ti_train_endpt/MAN/AE/1A_endpt.wav\nACZB_endpt.wav isolated_digits_ti_train_endpt/WOMAN/AC/ZB_endpt.wav\n' > "$c"/train/wav.scp
printf 'ACZB_endpt.wav Z\nAE1A_endpt.wav 1\n' > "$c"/train/text
printf 'AE1A_endpt.wav train/feats.ark:15\nACZB_endpt.wav train/feats.ark:900\n' > "$c"/train/feats.scp; : > "$c"/train/feats.ark
printf 'AK1B_endpt.wav isolated_digits_ti_test_endpt/WOMAN/AK/1B_endpt.wav\nAH3B_endpt.wav isolated_digits_ti_test_endpt/MAN/AH/3B_endpt.wav\n' > "$c"/test/wav.scp
printf 'AH3B_endpt.wav 3\nAK1B_endpt.wav 1\n' > "$c"/test/text
printf 'AH3B_endpt.wav feats.ark:15\nAK1B_endpt.wav feats.ark:99\n' > "$c"/test/feats.scp; : > "$c"/test/feats.ark

"$prep" "$c" p/train p/test > /dev/null 2> err.p1
check "prepare_data.sh on the coursework layout exits 0" test $? -eq 0
printf 'ACZB_endpt.wav %s\nAE1A_endpt.wav %s\n' "$c/train/isolated_digits_ti_train_endpt/WOMAN/AC/ZB_endpt.wav" \
  "$c/train/isolated_digits_ti_train_endpt/MAN/AE/1A_endpt.wav" > exp.wav
check "wav.scp: C-sorted, absolute paths" same p/train/wav.scp exp.wav
printf 'ACZB_endpt.wav AC\nAE1A_endpt.wav AE\n' > exp.u2s
check "utt2spk: the speaker is the wav's folder" same p/train/utt2spk exp.u2s
check "spk2utt" test "$(cat p/test/spk2utt)" = "$(printf 'AH AH3B_endpt.wav\nAK AK1B_endpt.wav')"
check "text copied and sorted" same p/train/text "$c"/train/text
check "no feats.scp without --use-provided-feats" test ! -e p/train/feats.scp

"$prep" --use-provided-feats true "$c" pf/train pf/test > /dev/null 2>&1
check "provided train feats: paths relative to the corpus dir" \
  test "$(cat pf/train/feats.scp)" = "$(printf 'ACZB_endpt.wav %s\nAE1A_endpt.wav %s' "$c/train/feats.ark:900" "$c/train/feats.ark:15")"
check "provided test feats: paths relative to the data dir as a fallback" \
  test "$(head -n 1 pf/test/feats.scp)" = "AH3B_endpt.wav $c/test/feats.ark:15"

"$prep" --train-set all "$c" a/train a/test > /dev/null 2>&1
check "--train-set all: every wav under train/" test "$(cut -d' ' -f1 a/train/text | tr '\n' ' ')" = "AC9A_endpt.wav ACZB_endpt.wav AE1A_endpt.wav AEOB_endpt.wav "
check "--train-set all: labels from the file names" test "$(cut -d' ' -f2 a/train/text | tr '\n' ' ')" = "9 Z 1 O "
check "--train-set all: the listed utterances keep their ids and wavs" \
  test -z "$(join p/train/wav.scp a/train/wav.scp | awk '$2 != $3')"
check "--train-set all: the test set is the listed one" same a/test/wav.scp p/test/wav.scp
"$prep" --train-set all --use-provided-feats true "$c" x/train x/test > /dev/null 2>&1
check "--train-set all with provided features fails" test $? -ne 0

mkdir -p raw && ln -s "$c"/train/isolated_digits_ti_train_endpt raw/ti_train && ln -s "$c"/test/isolated_digits_ti_test_endpt raw/ti_test
: > raw/ti_train/MAN/AE/README.wav
"$prep" raw r/train r/test > /dev/null 2> err.p2
check "a raw corpus tree exits 0" test $? -eq 0
check "raw tree: *train* folders make the train set (same as --train-set all)" same r/train/text a/train/text
check "raw tree: *test* folders make the test set" same r/test/text p/test/text
check "raw tree: files not named <label><take>...wav are skipped, and counted" has err.p2 'skipped 1 wav'
"$prep" --use-provided-feats true raw y/train y/test > /dev/null 2>&1
check "raw tree with provided features fails" test $? -ne 0
# an utterance listed twice: with different labels (the last one used to win silently), different wavs
printf 'ACZB_endpt.wav Z\nAE1A_endpt.wav 1\nACZB_endpt.wav 7\n' > "$c"/train/text
"$prep" "$c" dup/train dup/test > /dev/null 2> err.p4
check "an utterance listed twice in text with different labels fails" test $? -ne 0
check "... naming it and both labels" has err.p4 'utterance ACZB_endpt.wav is listed twice with different labels: Z and 7'
check "... writing no data dir" test ! -e dup/train/text
printf 'ACZB_endpt.wav Z\nAE1A_endpt.wav 1\nACZB_endpt.wav Z\n' > "$c"/train/text
"$prep" "$c" dup2/train dup2/test > /dev/null 2>&1
check "listed twice with the same label is accepted, once in the data dir" \
  test $? -eq 0 -a "$(cut -d' ' -f1 dup2/train/text | tr '\n' ' ')" = "ACZB_endpt.wav AE1A_endpt.wav "
printf 'ACZB_endpt.wav Z\nAE1A_endpt.wav 1\n' > "$c"/train/text
cp "$c"/train/wav.scp wav.saved
printf 'AE1A_endpt.wav isolated_digits_ti_train_endpt/MAN/AE/OB_endpt.wav\n' >> "$c"/train/wav.scp
"$prep" "$c" dup3/train dup3/test > /dev/null 2> err.p5
check "an utterance listed twice in wav.scp with different wavs fails" test $? -ne 0
check "... naming it and both wavs" has err.p5 'utterance AE1A_endpt.wav is listed twice with different wavs: .*/1A_endpt.wav and .*/OB_endpt.wav'
# "cmd |" entries are kept (the header promises it; they used to be rejected), so are paths with spaces
printf 'ACZB_endpt.wav sox %s -t wav - |\nAE1A_endpt.wav isolated_digits_ti_train_endpt/MAN/AE/1A_endpt.wav\n' \
  "$c/train/isolated_digits_ti_train_endpt/WOMAN/AC/ZB_endpt.wav" > "$c"/train/wav.scp
printf 'ACZB_endpt.wav AC\nAE1A_endpt.wav AE\n' > "$c"/train/utt2spk
"$prep" "$c" pipe/train pipe/test > /dev/null 2> err.p6
check "a wav.scp with a \"cmd |\" entry is accepted" test $? -eq 0
check "... and the pipe kept as it is" \
  test "$(head -n 1 pipe/train/wav.scp)" = "ACZB_endpt.wav sox $c/train/isolated_digits_ti_train_endpt/WOMAN/AC/ZB_endpt.wav -t wav - |"
check "... the other entry made absolute" test "$(tail -n 1 pipe/train/wav.scp)" = "AE1A_endpt.wav $c/train/isolated_digits_ti_train_endpt/MAN/AE/1A_endpt.wav"
check "... the speakers from utt2spk" same pipe/train/utt2spk "$c"/train/utt2spk
rm "$c"/train/utt2spk; mv wav.saved "$c"/train/wav.scp
# a raw tree where two files give the same utterance id (speaker AE under MAN and WOMAN)
mkdir -p rawdup/train/MAN/AE rawdup/train/WOMAN/AE rawdup/test/MAN/AH
: > rawdup/train/MAN/AE/1A_endpt.wav; : > rawdup/train/WOMAN/AE/1A_endpt.wav; : > rawdup/test/MAN/AH/3B_endpt.wav
"$prep" rawdup rd/train rd/test > /dev/null 2> err.p7
check "raw tree: two wavs with the same utterance id fail" test $? -ne 0
check "... naming the utterance and both wavs" has err.p7 'utterance AE1A_endpt.wav is listed twice with different wavs: .*MAN/AE/1A_endpt.wav and .*WOMAN/AE/1A_endpt.wav'

printf 'AE1A_endpt.wav 1\n' > "$c"/train/text
"$prep" "$c" q/train q/test > /dev/null 2> err.p3
check "an utterance without a label fails" test $? -ne 0
check "... naming it" has err.p3 'ACZB_endpt.wav has no label'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
