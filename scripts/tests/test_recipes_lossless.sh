#!/usr/bin/env bash
# Tests that the recipes never lose an utterance silently (issue 12 §5), with the cepstra binary on made-up
# wavs (tones and noise written by perl; no corpus needed):
#   recipes/make_mfcc.sh  a job whose pipeline fails part-way (a missing wav) fails, naming the utterance,
#                         its wav and the log; an utterance without features (too short) fails the run
#                         unless --allow-missing N% allows it, which then names and counts the lost ones
#   egs/tidigits/run.sh   (a copy, in a temp dir, on a small made-up corpus) a failed feature job fails the
#                         run with that message; --stage N > 0 works without --corpus once data/ exists;
#                         runs with other model options (--num-iters, --gmm-opts, --cmvn, --norm-vars) get
#                         their own exp dirs and config files, so none overwrites another
# Usage: scripts/tests/test_recipes_lossless.sh   (cepstra on PATH, or target/release/cepstra built)
# Prints one line per check and, last, "N passed, M failed"; exits 1 if any failed.
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/test_recipes_lossless.XXXXXX)
passed=0 failed=0
finish() { rm -rf "$work"; echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; }
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

# ---------------------------------------------------------------- recipes/make_mfcc.sh
mkdir -p wav conf d
cp "$root/egs/tidigits/conf/mfcc.conf" conf/
for i in 1 2 3 4 5 6 7 8; do mkwav "wav/u$i.wav" $((300 + 40 * i)) "$i"; echo "s$i-u$i $work/wav/u$i.wav"; done > d/wav.scp
awk '{ split($1, a, "-"); print $1, a[1] }' d/wav.scp > d/utt2spk
utt2spk_to_spk2utt.pl d/utt2spk > d/spk2utt
cp -r d d.good
make_mfcc.sh --nj 2 d exp/log d/data > /dev/null 2> err.m0
check "make_mfcc.sh on 8 good wavs exits 0" test $? -eq 0
check "... features for all 8" test "$(wc -l < d/feats.scp)" -eq 8
check "... saying so" has err.m0 'Succeeded creating MFCC features for d \(8 of 8 utterances\)'

# a missing wav in the middle of job 1 of the recipes' pipeline (compute-mfcc-feats | apply-cmvn | add-deltas):
# compute-mfcc-feats fails after writing u1, u2, add-deltas commits those; the job must fail all the same
rm -rf d && cp -r d.good d && sed -i "s|^s3-u3 .*|s3-u3 $work/wav/gone.wav|" d/wav.scp
make_mfcc.sh --nj 2 --cmvn-deltas true d exp/log d/data > /dev/null 2> err.m1
check "a missing wav: make_mfcc.sh fails (it used to say Succeeded with 6 of 8)" test $? -ne 0
check "... naming the utterance and its wav" has err.m1 "utterance s3-u3 \\(wav $work/wav/gone.wav\\) failed"
check "... and the job's log" has err.m1 'log exp/log/make_mfcc_d\.1\.log'
check "... with cepstra's error line" has err.m1 'ERROR \(cepstra compute-mfcc-feats\) (.*: )?utterance s3-u3[: ].*No such file'
check "... not a 'cannot read' of a later step" lacks err.m1 'cannot read|^(sort|cat|wc|cut|join|awk|mv|cp): '
check "... leaving no feats.scp" test ! -e d/feats.scp
check "the job's log says the pipeline failed (pipefail)" has exp/log/make_mfcc_d.1.log '^# Ended \(code [1-9]'

# an utterance too short for one frame: compute-mfcc-feats skips it (Kaldi does too) and exits 0
rm -rf d && cp -r d.good d && mkwav wav/short.wav 400 9 0.01 && sed -i "s|^s6-u6 .*|s6-u6 $work/wav/short.wav|" d/wav.scp
make_mfcc.sh --nj 2 d exp/log d/data > /dev/null 2> err.m2
check "an utterance without features fails make_mfcc.sh" test $? -ne 0
check "... counting it" has err.m2 'no features for 1 of 8 utterances of d \(12\.50%; --allow-missing 0%\)'
check "... naming it, its wav, the reason and the log" \
  has err.m2 "s6-u6 \\(wav $work/wav/short.wav\\): WARNING .*too short for one frame.*\\(log exp/log/make_mfcc_d\\.2\\.log\\)"
check "... saying how to allow it" has err.m2 'allow the loss with --allow-missing'
check "... leaving no feats.scp" test ! -e d/feats.scp
make_mfcc.sh --nj 2 --allow-missing 10% d exp/log d/data > /dev/null 2> err.m3
check "--allow-missing 10%: 1 of 8 lost (12.5%) still fails" test $? -ne 0
make_mfcc.sh --nj 2 --allow-missing 20% d exp/log d/data > /dev/null 2> err.m4
check "--allow-missing 20%: 1 of 8 lost is accepted" test $? -eq 0
check "... saying how many were lost" has err.m4 'lost 1 of 8 utterances of d \(12\.50%, within --allow-missing 20%\)'
check "... and which" has err.m4 's6-u6 \(wav .*short.wav\): WARNING'
check "... feats.scp has the 7 others" test "$(wc -l < d/feats.scp)" -eq 7
check "... the data dir keeps only them (fix_data_dir.sh)" test "$(wc -l < d/utt2spk)" -eq 7
check "... and validates" validate_data_dir.sh --no-text d 2> /dev/null
# with --allow-missing, an unreadable wav is skipped (scp,p:) rather than failing its job
rm -rf d && cp -r d.good d && sed -i "s|^s3-u3 .*|s3-u3 $work/wav/gone.wav|" d/wav.scp
make_mfcc.sh --nj 2 --allow-missing 20% d exp/log d/data > /dev/null 2> err.m5
check "--allow-missing 20%: a missing wav is skipped, counted and named" \
  bash -c "[ $? -eq 0 ] && grep -q 'lost 1 of 8' err.m5 && grep -q 's3-u3 (wav $work/wav/gone.wav): WARNING' err.m5"
make_mfcc.sh --nj 2 --allow-missing lots d exp/log d/data > /dev/null 2> err.m6
check "--allow-missing wants a percentage" has err.m6 'wants a percentage'
rm -rf d exp

# ---------------------------------------------------------------- egs/tidigits/run.sh on a made-up corpus
# a copy of the recipe dir beside symlinks to scripts/, recipes/ and target/, so the runs leave egs/ alone
repo=$work/repo
mkdir -p "$repo/egs" && cp -a "$root/egs/tidigits" "$repo/egs/" && rm -rf "$repo/egs/tidigits/data" "$repo/egs/tidigits/exp"
ln -s "$root/scripts" "$repo/scripts"; ln -s "$root/recipes" "$repo/recipes"
ln -s "$(dirname "$(dirname "$(command -v cepstra)")")" "$repo/target"
# the coursework layout: labels 1 2 3 (tones of 300/500/700 Hz, shifted per speaker), 3 train and 2 test speakers
c=$work/corpus
for set in train test; do
  mkdir -p "$c/$set"
  if [ $set = train ]; then spks="sa sb sc"; takes="1 2 3"; else spks="td te"; takes="1 2"; fi
  i=0
  for spk in $spks; do
    i=$((i + 1))
    for lab in 1 2 3; do
      for t in $takes; do
        u=${spk}_${lab}_$t; mkdir -p "$c/$set/$spk"
        mkwav "$c/$set/$spk/$lab$t.wav" $((100 + 200 * lab + 25 * i)) "$((i * 100 + lab * 10 + t))"
        echo "$u $spk/$lab$t.wav" >> "$c/$set/wav.scp"; echo "$u $lab" >> "$c/$set/text"; echo "$u $spk" >> "$c/$set/utt2spk"
      done
    done
  done
done
recipe=$repo/egs/tidigits
opts=(--nj 2 --num-gauss 1 --covariance diag --num-iters 2)
runit() { local log=$1; shift; "$recipe/run.sh" "$@" > "$log" 2>&1; }
mdl_of() { echo "$recipe/exp/classes_$1/final.mdl"; }
unchanged() {  # unchanged SAVED DIR: the model set (every *.mdl) and config in DIR are SAVED's, byte for byte
  local f n=0
  for f in "$1"/*; do cmp -s "$f" "$2/${f##*/}" || return 1; n=$((n + 1)); done
  [ "$n" -ge 3 ] && [ "$(find "$2" -maxdepth 1 -name '*.mdl' | wc -l)" -eq $((n - 1)) ]
}

runit r1.log --corpus "$c" "${opts[@]}"
check "run.sh on the made-up corpus exits 0" test $? -eq 0
check "... printing an accuracy as its last line" test -n "$(tail -n 1 r1.log | grep -E '^accuracy [01]\.[0-9]{4} \(')"
first=$(tail -n 1 r1.log)
cp "$recipe"/exp/classes_*/final.mdl r1.final.mdl 2> /dev/null
d0=$recipe/exp/classes_cmn_diag_k1_i2_s0
check "the exp dir is named after the setting (classes_cmn_diag_k1_i2_s0)" test -f "$d0/final.mdl"
check "... with a config file of every setting" has "$d0/config" '^num_iters 2$'
check "... naming the front-end" has "$d0/config" '^frontend compute-mfcc-feats .*apply-cmvn per utterance, norm-vars false \| add-deltas$'
check "exp/RESULTS names the setting and the normalisation" \
  has "$recipe/exp/RESULTS" $'tidigits cmn_diag_k1_i2\tcmvn utterance\tnorm-vars false\t.*accuracy'
# progress (issue 12 §6): a line when each stage starts and when it is done
check "a progress line per stage: stage 0 data ... stage 4 score" \
  bash -c "grep -q 'stage 0 data: ' r1.log && grep -q 'stage 2 features: ' r1.log && grep -q 'stage 3 train: ' r1.log && grep -q 'stage 4 score: ' r1.log"
check "... each done with its time" bash -c "[ \$(grep -cE 'stage (data|validate|features|train|score) done \([0-9]+\.[0-9]{2} s\)' r1.log) -eq 5 ]"
# the report's sections (issue 12 §6), from the recipe's own files
rep=$d0/score_test_cmn/report.html
check "the report shows the setting (model options and front-end)" \
  bash -c "grep -q '<section id=\"setting\">' '$rep' && grep -q 'num-gauss 1 covariance diag num-iters 2' '$rep' && grep -q 'apply-cmvn' '$rep'"
check "... a per-speaker table (speakers td, te)" bash -c "grep -q '<section id=\"per-speaker\">' '$rep' && grep -q '>td<' '$rep' && grep -q '>te<' '$rep'"
check "... the final model's likelihood (train_classes.sh left final.JOB.acc)" \
  bash -c "[ -f '$d0/final.1.acc' ] && [ -f '$d0/final.2.acc' ] && grep -q 'class=\"final\"' '$rep' && grep -q 'Ringed, point 2: the final model' '$rep'"
check "... and says what point 0 is" has "$rep" 'Point 0 is the initial model \(k-means, before any EM update\)'
if grep -q '<tr><td class="mono">' <(sed -n '/<section id="errors">/,/<\/section>/p' "$rep"); then
  check "... the errors with the closest other class and the margin per frame" has "$rep" '<th>closest other class</th><th class="num">margin \(per frame\)</th>'
  check "... and an audio player for every error (local wavs)" \
    bash -c "sed -n '/<section id=\"errors\">/,/<\/section>/p' '$rep' | grep '<tr><td class=\"mono\">' | grep -v '<audio controls preload=\"none\" src=\"file:///' | grep -q . && exit 1; exit 0"
else
  check "... no errors: the error section says so" has "$rep" 'No errors\.'
fi

# --stage N > 0 without --corpus once data/ exists (it used to demand --corpus)
runit r2.log --stage 1 "${opts[@]}"
check "--stage 1 without --corpus exits 0" test $? -eq 0
check "... with the same accuracy" test "$(tail -n 1 r2.log)" = "$first"
runit r3.log --stage 3 "${opts[@]}"
check "--stage 3 without --corpus exits 0 with the same accuracy" test $? -eq 0 -a "$(tail -n 1 r3.log)" = "$first"
check "... remaking the same model set" cmp -s r1.final.mdl "$d0/final.mdl"
mkdir -p d0.saved && cp "$d0"/*.mdl "$d0/config" d0.saved/
runit r4.log "${opts[@]}"
check "--stage 0 without --corpus fails, saying it needs it" has r4.log '--corpus is required for stage 0'

# other model options: their own exp dirs; the first one is left as it was
runit r5.log --stage 3 --nj 2 --num-gauss 1 --covariance diag --num-iters 3
check "--num-iters 3 exits 0" test $? -eq 0
check "... into classes_cmn_diag_k1_i3_s0" test -f "$(mdl_of cmn_diag_k1_i3_s0)" -a -f "$recipe/exp/classes_cmn_diag_k1_i3_s0/3.mdl"
check "... leaving the --num-iters 2 model set as it was" unchanged d0.saved "$d0"
runit r6.log --stage 3 "${opts[@]}" --gmm-opts "--var-floor 0.001"
sum=$(cksum <<< "--var-floor 0.001" | cut -d' ' -f1)
check "--gmm-opts: its own exp dir (_o<cksum of the options>)" test -f "$(mdl_of "cmn_diag_k1_i2_o${sum}_s0")"
check "... whose config spells them out" has "$recipe/exp/classes_cmn_diag_k1_i2_o${sum}_s0/config" '^gmm_opts --var-floor 0.001$'
check "... the first model set still as it was" unchanged d0.saved "$d0"
for nv in false true; do
  runit "r7$nv.log" --stage 2 "${opts[@]}" --cmvn speaker --norm-vars "$nv"; rc=$?
  t=spkcmn; if $nv; then t=spkcmvn; fi
  check "--cmvn speaker --norm-vars $nv exits 0 with an accuracy" test $rc -eq 0 -a -n "$(tail -n 1 "r7$nv.log" | grep '^accuracy')"
  check "... features in data/train_$t and data/test_$t, model set in exp/classes_${t}_diag_k1_i2_s0" \
    test -s "$recipe/data/train_$t/feats.scp" -a -s "$recipe/data/test_$t/feats.scp" -a -f "$(mdl_of "${t}_diag_k1_i2_s0")"
  check "... exp/RESULTS says so" has "$recipe/exp/RESULTS" "tidigits ${t}_diag_k1_i2"$'\t'"cmvn speaker"$'\t'"norm-vars $nv"
  # the features are Kaldi's per-speaker CMVN of the raw MFCC: compute-cmvn-stats --spk2utt, apply-cmvn --utt2spk
  (cd "$recipe/data/test" && cepstra compute-mfcc-feats --config=../../conf/mfcc.conf scp:wav.scp ark:- 2>/dev/null |
     cepstra compute-cmvn-stats --spk2utt=ark:spk2utt ark:- "ark:$work/cmvn.ark" 2>/dev/null &&
   cepstra compute-mfcc-feats --config=../../conf/mfcc.conf scp:wav.scp ark:- 2>/dev/null |
     cepstra apply-cmvn --norm-vars=$nv --utt2spk=ark:utt2spk "ark:$work/cmvn.ark" ark:- ark:- 2>/dev/null |
     cepstra add-deltas ark:- "ark:$work/ref.$t.ark" 2>/dev/null)
  check "... equal to compute-cmvn-stats --spk2utt | apply-cmvn --utt2spk | add-deltas by hand (test set)" \
    cepstra compare-feats --tolerance=1e-6 "ark:$work/ref.$t.ark" "scp:$recipe/data/test_$t/feats.scp" > /dev/null 2>&1
  check "... the model set records the front-end (speaker statistics)" \
    bash -c "cepstra gmm-info '$(mdl_of "${t}_diag_k1_i2_s0")' 2>&1 | grep -q 'front-end: .*apply-cmvn --utt2spk'"
done
check "the per-utterance model set still as it was" unchanged d0.saved "$d0"
runit r8.log --stage 3 "${opts[@]}" --norm-vars true
check "--norm-vars true with per-utterance statistics needs stage 2 first: fails naming data/train_cmvn" \
  has r8.log 'no data/train_cmvn/feats.scp: run stage 2'

# recipes/train_classes.sh itself never mixes two settings in one dir
(cd "$recipe" && train_classes.sh --nj 2 --num-gauss 1 --covariance diag --num-iters 4 data/train_cmn "$d0") > r9.log 2>&1
check "train_classes.sh into a dir of other settings fails" test $? -ne 0
check "... naming the setting that differs" bash -c "grep -q '^  num_iters 2$' r9.log && grep -q '^  num_iters 4$' r9.log"
check "... and leaves the models alone" unchanged d0.saved "$d0"

# several seeds: one model set each and a summary page (issue 12 §6)
runit r11.log --stage 3 "${opts[@]}" --seeds 0,1
check "--seeds 0,1 exits 0 with the mean ± sd line" bash -c "tail -n 1 r11.log | grep -qE '^accuracy [01]\.[0-9]{4} ± [0-9.]+ over 2 seeds'"
sp=$recipe/exp/classes_cmn_diag_k1_i2_s0+1/score_test_cmn/report.html
check "... and the seeds' summary page, linking each seed's report" \
  bash -c "grep -q '<section id=\"runs\">' '$sp' && grep -q 'href=\"../../classes_cmn_diag_k1_i2_s1/score_test_cmn/report.html\"' '$sp'"
check "... seed 0's model set as it was" unchanged d0.saved "$d0"

# a failed feature job fails the run (it used to end with an accuracy on the utterances that were left)
sed -i 's|^td_2_1 .*|td_2_1 td/gone.wav|' "$c/test/wav.scp"
runit r10.log --corpus "$c" "${opts[@]}"
check "a missing test wav: run.sh fails" test $? -ne 0
check "... naming the utterance, its wav and the log" \
  has r10.log "utterance td_2_1 \\(wav $c/test/td/gone.wav\\) failed; log exp/make_mfcc/log/make_mfcc_test_cmn\\.[12]\\.log"
check "... and prints no accuracy" test -z "$(grep '^accuracy' r10.log)"
