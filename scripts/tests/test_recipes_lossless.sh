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

check() { # check DESCRIPTION COMMAND...: pass if COMMAND succeeds
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1)); echo "ok   $what"
  else
    failed=$((failed + 1)); echo "FAIL $what"
  fi
}
has() { grep -qE -- "$2" "$1"; }     # has FILE REGEX
lacks() { ! grep -qE -- "$2" "$1"; }

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
check "... with cepstra's error line" has err.m1 'ERROR \(cepstra compute-mfcc-feats\) utterance s3-u3: .*No such file'
check "... not a 'cannot read' of a later step" lacks err.m1 'cannot read|No such file or directory$'
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
check "... and validates" validate_data_dir.sh --no-text d
# with --allow-missing, an unreadable wav is skipped (scp,p:) rather than failing its job
rm -rf d && cp -r d.good d && sed -i "s|^s3-u3 .*|s3-u3 $work/wav/gone.wav|" d/wav.scp
make_mfcc.sh --nj 2 --allow-missing 20% d exp/log d/data > /dev/null 2> err.m5
check "--allow-missing 20%: a missing wav is skipped, counted and named" \
  bash -c "[ $? -eq 0 ] && grep -q 'lost 1 of 8' err.m5 && grep -q 's3-u3 (wav $work/wav/gone.wav): WARNING' err.m5"
make_mfcc.sh --nj 2 --allow-missing lots d exp/log d/data > /dev/null 2> err.m6
check "--allow-missing wants a percentage" has err.m6 'wants a percentage'
rm -rf d exp
