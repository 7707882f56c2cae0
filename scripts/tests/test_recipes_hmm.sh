#!/usr/bin/env bash
# egs/tidigits/run.sh --model hmm end to end (issue 11, Recipes and report), on a copy of the recipe dir in a
# temp dir and a small made-up corpus (tones and noise written by perl, labels 1 2 3; one test utterance of
# label 1 is a tone of label 2, so there is at least one error to draw): training through
# recipes/train_hmms.sh, scoring through classify on the HMM set (--score forward|viterbi), the exp dir named
# after the HMM setting with a config file, exp/RESULTS, the alignments against the reference and the
# hypothesis, and the report's HMM sections (each error's features with both words' state boundaries, the
# per-state durations of each word); --model gmm keeps its names; bad option values fail.
# Usage: scripts/tests/test_recipes_hmm.sh   (cepstra on PATH, or target/release/cepstra built)
# Prints one line per check and, last, "N passed, M failed"; exits 1 if any failed.
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/test_recipes_hmm.XXXXXX)
passed=0 failed=0
finish() { [ -n "${KEEP:-}" ] || rm -rf "$work"; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; }
trap finish EXIT
cd "$work" || exit 1

# shellcheck source=SCRIPTDIR/checks.sh
. "$here/checks.sh"

bin=${CARGO_TARGET_DIR:-$root/target}/release
command -v cepstra > /dev/null || PATH=$bin:$PATH
if ! command -v cepstra > /dev/null; then
  check "cepstra is on PATH or built at $bin (cargo build --release -p cepstra-cli)" false; exit 1
fi
export PATH=$root/recipes:$root/scripts:$PATH CEPSTRA_NO_BUILD=true

# mkwav FILE FREQ SEED [SECONDS]: 8 kHz 16-bit mono, a tone at FREQ Hz (and its 2nd harmonic) plus noise
mkwav() {
  perl -e 'my ($f, $hz, $seed, $dur) = @ARGV; srand($seed); my $n = int(8000 * $dur);
    my @s = map { my $t = $_ / 8000; int(6000 * sin(6.2831853 * $hz * $t) + 2000 * sin(12.566371 * $hz * $t)
                  + 1500 * (rand() - 0.5)) } 0 .. $n - 1;
    open my $o, ">", $f or die "$f: $!"; binmode $o;
    print $o "RIFF", pack("V", 36 + 2 * $n), "WAVEfmt ", pack("VvvVVvv", 16, 1, 1, 8000, 16000, 2, 16),
      "data", pack("V", 2 * $n), pack("s<*", @s)' "$1" "$2" "$3" "${4:-0.4}"
}

# a copy of the recipe dir beside symlinks to scripts/, recipes/ and target/, so the runs leave egs/ alone
repo=$work/repo
mkdir -p "$repo/egs" && cp -a "$root/egs/tidigits" "$repo/egs/" && rm -rf "$repo/egs/tidigits/data" "$repo/egs/tidigits/exp"
ln -s "$root/scripts" "$repo/scripts"; ln -s "$root/recipes" "$repo/recipes"
ln -s "$(dirname "$(dirname "$(command -v cepstra)")")" "$repo/target"
# the coursework layout: labels 1 2 3 (tones of 300/500/700 Hz, shifted per speaker), 3 train and 2 test
# speakers; test utterance td_1_1 is said with label 2's tone
c=$work/corpus
for set in train test; do
  mkdir -p "$c/$set"
  if [ $set = train ]; then spks="sa sb sc"; takes="1 2 3"; else spks="td te"; takes="1 2"; fi
  i=0
  for spk in $spks; do
    i=$((i + 1))
    for lab in 1 2 3; do
      for t in $takes; do
        u=${spk}_${lab}_$t; mkdir -p "$c/$set/$spk"; f=$lab
        [ "$u" = td_1_1 ] && f=2
        mkwav "$c/$set/$spk/$lab$t.wav" $((100 + 200 * f + 25 * i)) "$((i * 100 + lab * 10 + t))" "0.$((3 + t))"
        echo "$u $spk/$lab$t.wav" >> "$c/$set/wav.scp"; echo "$u $lab" >> "$c/$set/text"; echo "$u $spk" >> "$c/$set/utt2spk"
      done
    done
  done
done
recipe=$repo/egs/tidigits
opts=(--nj 2 --model hmm --num-states 3 --num-gauss 2 --num-iters 3)
runit() { local log=$1; shift; "$recipe/run.sh" "$@" > "$log" 2>&1; }

runit r1.log --corpus "$c" "${opts[@]}"
check "run.sh --model hmm on the made-up corpus exits 0" test $? -eq 0
check "... printing an accuracy as its last line" test -n "$(tail -n 1 r1.log | grep -E '^accuracy [01]\.[0-9]{4} \(')"
d=$recipe/exp/hmm_cmn_diag_st3_m2_bw_i3_s0
check "the exp dir is named after the HMM setting (hmm_cmn_diag_st3_m2_bw_i3_s0)" test -f "$d/final.mdl"
check "... an HMM set of 3 states and 2 Gaussians per state (train_hmms.sh, mixed up)" \
  bash -c "cepstra hmm-info '$d/final.mdl' 2>/dev/null | grep -q $'^1\t3\t2,2,2\t'"
check "... trained by recipes/train_hmms.sh (its pass logs)" test -f "$d/log/pass.2.log"
check "... with a config file of every setting" \
  bash -c "grep -q '^model hmm$' '$d/config' && grep -q '^num_states 3$' '$d/config' && grep -q '^mode baum-welch$' '$d/config' && grep -q '^frontend .*--cmvn=utterance' '$d/config'"
check "exp/RESULTS names the setting" has "$recipe/exp/RESULTS" $'tidigits hmm_cmn_diag_st3_m2_bw_i3\tcmvn utterance\t.*accuracy'
s=$d/score_test_cmn
check "scored by classify on the HMM set (forward scores)" has "$s/log/classify.1.log" '^# cepstra classify --score forward .*/final.mdl'
check "alignments against the reference text, one per test utterance (a text archive)" \
  test "$(grep -cE '^t[de]_[123]_[12]( [012])+ $' "$s/ali_ref.ark")" -eq 12
check "... and against the hypothesis" test "$(grep -cE '^t[de]_[123]_[12]( [012])+ $' "$s/ali_hyp.ark")" -eq 12
rep=$s/report.html
check "the report shows the HMM set's setting" has "$rep" '<tr><td>HMM set</td><td class="mono">3 classes, feature dimension 39'
nerr=$(sed -n 's/.*<h2>Errors (\([0-9]*\))<\/h2>.*/\1/p' "$rep")
check "the mislabelled test utterance is an error ($nerr errors)" test "${nerr:-0}" -ge 1
check "... drawn with its features and both words' state boundaries, one figure per error" \
  test "$(grep -o '<figure class="alignment"' "$rep" | wc -l)" -eq "${nerr:-0}"
fig=$(sed -n '/id="ali-td_1_1"/,/<\/figure>/p' "$rep")
check "... td_1_1: reference 1 (3 states: 2 boundaries), recognised 2 (3 states: 2 boundaries)" \
  test "$(grep -o 'class="ref-boundary"' <<< "$fig" | wc -l)" -eq 2 -a "$(grep -o 'class="hyp-boundary"' <<< "$fig" | wc -l)" -eq 2
check "... recognised as 2" has <(printf '%s\n' "$fig") 'reference <b>1</b>, recognised <b class="hyp">2</b>'
check "a per-state duration table of each word (words 1 2 3, states 1-3)" \
  bash -c "sed -n '/<section id=\"durations\">/,/<\/section>/p' '$rep' | grep -c '^<tr><td>[123]</td><td class=\"num\">4</td>' | grep -qx 3 && grep -q '<th class=\"num\">state 3</th>' '$rep'"

runit r2.log --stage 3 "${opts[@]}" --score viterbi
check "--score viterbi exits 0" test $? -eq 0
check "... scores by the best path into score_test_cmn_viterbi" has "$d/score_test_cmn_viterbi/log/classify.1.log" '^# cepstra classify --score viterbi'
check "... exp/RESULTS says so" has "$recipe/exp/RESULTS" $'tidigits hmm_cmn_diag_st3_m2_bw_i3_viterbi\t'
runit r3.log --stage 3 "${opts[@]}" --hmm-mode viterbi --topology skip
check "--hmm-mode viterbi --topology skip: its own exp dir (hmm_cmn_diag_st3_m2_vit_skip_i3_s0)" \
  test $? -eq 0 -a -f "$recipe/exp/hmm_cmn_diag_st3_m2_vit_skip_i3_s0/final.mdl"
check "... with mode viterbi in its config" has "$recipe/exp/hmm_cmn_diag_st3_m2_vit_skip_i3_s0/config" '^mode viterbi$'
cp "$d/final.mdl" saved.mdl
sed -i 's/^seed 0$/seed 7/' "$d/config"
runit r4.log --stage 3 "${opts[@]}"
check "a dir whose config differs is refused, naming the setting" test $? -ne 0 -a -n "$(grep 'seed 7' r4.log)"
check "... and its model set left alone" cmp -s saved.mdl "$d/final.mdl"
sed -i 's/^seed 7$/seed 0/' "$d/config"
runit r5.log --stage 3 "${opts[@]}" --seeds 0,1
check "--seeds 0,1 exits 0 with the mean ± sd line" bash -c "tail -n 1 r5.log | grep -qE '^accuracy [01]\.[0-9]{4} ± [0-9.]+ over 2 seeds'"
check "... and the seeds' page in hmm_..._s0+1" test -f "$recipe/exp/hmm_cmn_diag_st3_m2_bw_i3_s0+1/score_test_cmn/report.html"

runit r6.log --stage 3 --nj 2 --num-gauss 1 --covariance diag --num-iters 2
check "--model gmm (the default) still trains classes_cmn_diag_k1_i2_s0" \
  test $? -eq 0 -a -f "$recipe/exp/classes_cmn_diag_k1_i2_s0/final.mdl" -a -f "$recipe/exp/classes_cmn_diag_k1_i2_s0/score_test_cmn/report.html"
check "... without alignments" test ! -e "$recipe/exp/classes_cmn_diag_k1_i2_s0/score_test_cmn/ali_ref.ark"
runit r7.log --stage 3 --model dnn
check "--model dnn fails, saying what it expects" has r7.log '--model must be gmm or hmm, got dnn'
runit r8.log --stage 3 --num-states 5
check "--num-states under --model gmm fails" has r8.log '--num-states is an option of --model hmm'
runit r9.log --stage 3 --model hmm --hmm-mode em
check "--hmm-mode em fails" has r9.log '--hmm-mode must be baum-welch or viterbi, got em'

# rejected utterances (classify --threshold ... --unk): the hypothesis alignment leaves them out
thr=$(awk -F '\t' 'NR > 1 { m = $2; for (i = 3; i <= NF; i++) if ($i > m) m = $i; print m }' "$s/scores.tsv" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
(cd "$recipe" && score.sh --nj 1 --classify-opts "--threshold $thr --unk rejected" --align-hmms true \
  exp/hmm_cmn_diag_st3_m2_bw_i3_s0/final.mdl data/test_cmn exp/unk) > r10.log 2>&1
check "score.sh --align-hmms with rejections (--threshold $thr) exits 0" test $? -eq 0
nunk=$(grep -c ' rejected$' "$recipe/exp/unk/hyp.txt")
check "... some utterances rejected ($nunk), some not" test "$nunk" -ge 1 -a "$nunk" -lt 12
check "... the hypothesis alignment has the others only" \
  test "$(grep -cE '^t[de]_' "$recipe/exp/unk/ali_hyp.ark")" -eq $((12 - nunk))
check "... and the report draws the rejected ones without a recognised path" \
  bash -c "grep -q 'class=\"hyp-none\"' '$recipe/exp/unk/report.html'"
