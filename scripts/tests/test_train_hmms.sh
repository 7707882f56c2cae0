#!/usr/bin/env bash
# recipes/train_hmms.sh on small synthetic data (three words, 10 utterances each, 2-dimensional features
# made here, no corpus): --nj 1 and --nj 3 give the same final.mdl bytes, which are those of
# cepstra train-hmms with the same options; per-pass logs with the average log-likelihood per frame
# (never falling in Baum-Welch), alignments and durations; a resumed run (--stage) gives the same bytes;
# --class-opts (per-word states and Gaussians) gives the shapes asked for, the same bytes for any --nj and
# as train-hmms --class-opts, and a bad line fails naming file and line; --mode viterbi accumulates along
# stored alignments realigned on --realign-iters (equal alignment first, pass logs say which passes
# realigned, the same bytes for any --nj and after --stage, "all" = train-hmms --mode viterbi, bad values
# refused).
# Uses $CEPSTRA_BIN, else target/debug/cepstra (built if missing).
# Usage: scripts/tests/test_train_hmms.sh
# Prints one line per check and, last, "N passed, M failed"; exits 1 if any failed.
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${CEPSTRA_BIN:-$root/target/debug/cepstra}
if [ ! -x "$bin" ]; then
  (cd "$root" && flock /tmp/cepstra-build.lock cargo build -q -p cepstra-cli) || { echo "cannot build cepstra" >&2; exit 1; }
fi
work=$(mktemp -d /tmp/test_train_hmms.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mkdir -p "$work/bin" && ln -s "$bin" "$work/bin/cepstra"
export PATH=$work/bin:$root/scripts:$PATH CEPSTRA_ROOT=$root
cd "$work" || exit 1

passed=0 failed=0
# shellcheck source=SCRIPTDIR/checks.sh
. "$here/checks.sh"
differ() { [ -s "$1" ] && [ -s "$2" ] && ! cmp -s "$1" "$2"; } # both made, not the same bytes

# Three words, three segments each whose means differ by word; deterministic noise (awk's srand(1)).
mkdir -p data/train
awk 'BEGIN { srand(1); split("one two three", w, " ");
  for (c = 1; c <= 3; c++) for (u = 0; u < 10; u++) {
    id = sprintf("spk%d_%s_%02d", u % 2, w[c], u); T = 16 + (u * 5) % 11;
    printf "%s  [\n", id;
    for (t = 0; t < T; t++) { seg = int(t * 3 / T) * 2 * c;
      printf "  %.4f %.4f%s\n", seg + rand() - 0.5, -seg + rand() - 0.5, (t == T - 1 ? " ]" : "") }
    print id, w[c] > "data/train/text"; print id, "spk" (u % 2) > "data/train/utt2spk" } }' > feats.txt
sort -o data/train/text data/train/text; sort -o data/train/utt2spk data/train/utt2spk
cepstra copy-feats ark,t:feats.txt "ark,scp:$work/data/train/feats.ark,$work/data/train/feats.scp" 2> copy.log
check "synthetic features written" test -s data/train/feats.scp

opts=(--num-states 3 --num-gauss 2 --num-iters 4 --hmm-opts "--min-gaussian-occupancy=1")
"$root/recipes/train_hmms.sh" --nj 1 "${opts[@]}" data/train exp/nj1 > nj1.log 2>&1
check "train_hmms.sh --nj 1 succeeds" has nj1.log 'Succeeded: exp/nj1/final.mdl'
"$root/recipes/train_hmms.sh" --nj 3 "${opts[@]}" data/train exp/nj3 > nj3.log 2>&1
check "train_hmms.sh --nj 3 succeeds" has nj3.log 'Succeeded: exp/nj3/final.mdl'
check "--nj 1 and --nj 3: the same final.mdl bytes" cmp -s exp/nj1/final.mdl exp/nj3/final.mdl
cepstra train-hmms --num-states=3 --num-gauss=2 --num-iters=4 --mix-up-at=2 --min-gaussian-occupancy=1 \
  scp:data/train/feats.scp data/train/text all.mdl 2> all.log
check "... and those of cepstra train-hmms" cmp -s exp/nj1/final.mdl all.mdl
pass_logs=(exp/nj3/log/pass.*.log)
check "one pass log per pass" test "${#pass_logs[@]}" -eq 4
check "pass logs give the average log-likelihood per frame over all frames" \
  has exp/nj3/log/pass.0.log '^pass 0: average log-likelihood per frame -?[0-9.]+ over 627 frames$'
lls=$(cat exp/nj3/log/pass.{0,1,2,3}.log | awk '{ print $7 }' | tr '\n' ' ')
# (the floors make EM not strictly monotone: a fall of up to 1e-4 per frame is tolerated)
check "Baum-Welch does not lower it ($lls)" awk -v l="$lls" 'BEGIN { n = split(l, a, " "); for (i = 2; i <= n; i++) if (a[i] < a[i - 1] - 1e-4) exit 1; exit !(a[n] > a[1]) }'
check "the schedule mixed up to 2 Gaussians per state" has <(cepstra hmm-info exp/nj3/final.mdl 2>/dev/null) $'^two\t3\t2,2,2\t'
check "alignments of every utterance" test "$(cat exp/nj3/ali.*.ark | grep -ao 'spk[01]_[a-z]*_[0-9][0-9] ' | wc -l)" -eq 30
check "per-state durations" has exp/nj3/durations.1.tsv '^class	state	utterances	mean_frames'
check "the statistics were cleaned up" test -z "$(ls exp/nj3/*.acc 2>/dev/null)"
"$root/recipes/train_hmms.sh" --nj 3 "${opts[@]}" --cleanup false data/train exp/resume > r1.log 2>&1
rm exp/resume/3.mdl exp/resume/4.mdl exp/resume/final.mdl
"$root/recipes/train_hmms.sh" --nj 2 "${opts[@]}" --stage 2 data/train exp/resume > r2.log 2>&1
check "--stage 2 resumes from 2.mdl to the same bytes" cmp -s exp/resume/final.mdl exp/nj1/final.mdl
"$root/recipes/train_hmms.sh" --nj 2 --mode viterbi "${opts[@]}" data/train exp/vit > vit.log 2>&1
check "--mode viterbi succeeds" has vit.log 'Succeeded: exp/vit/final.mdl'
# Viterbi passes accumulate along stored alignments (acc-hmms --alignments), as Kaldi's train_mono.sh:
# pass 0 along the equal alignment, the passes of --realign-iters (default Kaldi's 1 2 3 ...) realign first.
check "viterbi, Kaldi's schedule: pass 0 along the equal alignment" \
  has exp/vit/log/pass.0.log '^pass 0: not realigned: the equal alignment \(align-hmms --equal\)$'
check "viterbi, Kaldi's schedule: passes 1 2 3 realign" \
  test "$(cat exp/vit/log/pass.{1,2,3}.log | grep -c '^pass [123]: realigned with [123].mdl$')" -eq 3
check "viterbi: every pass accumulated along ali.JOB.ark" \
  has exp/vit/log/acc.3.2.log 'acc-hmms --alignments=ark:exp/vit/ali.2.ark'
check "viterbi: the equal alignment is written per job" has exp/vit/log/align_equal.1.log 'Aligned 15 out of 15 utterances'
vopts=(--mode viterbi "${opts[@]}")
"$root/recipes/train_hmms.sh" --nj 1 "${vopts[@]}" --realign-iters "2" data/train exp/r2nj1 > r2nj1.log 2>&1
check "--realign-iters 2 --nj 1 succeeds" has r2nj1.log 'Succeeded: exp/r2nj1/final.mdl'
"$root/recipes/train_hmms.sh" --nj 3 "${vopts[@]}" --realign-iters "2" --cleanup false data/train exp/r2nj3 > r2nj3.log 2>&1
check "--realign-iters 2 --nj 3 succeeds" has r2nj3.log 'Succeeded: exp/r2nj3/final.mdl'
check "--realign-iters 2: --nj 1 and --nj 3 give the same final.mdl bytes" cmp -s exp/r2nj1/final.mdl exp/r2nj3/final.mdl
check "--realign-iters 2: the log says which passes realigned" \
  test "$(cat exp/r2nj3/log/pass.{0,1,2,3}.log | grep -v average | tr '\n' '|')" = \
  "pass 0: not realigned: the equal alignment (align-hmms --equal)|pass 1: not realigned: the equal alignment (align-hmms --equal)|pass 2: realigned with 2.mdl|pass 3: not realigned: the alignment of pass 2 (2.mdl)|"
ali_logs=(exp/r2nj3/log/align.[0-9]*.[0-9]*.log)
check "--realign-iters 2: only pass 2 ran align-hmms" test "${#ali_logs[@]}" -eq 3
# Resuming: the alignment on disk is now final.mdl's (and of 3 jobs); --stage 3 --nj 2 remakes pass 2's.
rm exp/r2nj3/4.mdl exp/r2nj3/final.mdl
"$root/recipes/train_hmms.sh" --nj 2 "${vopts[@]}" --realign-iters "2" --stage 3 data/train exp/r2nj3 > r2res.log 2>&1
check "--realign-iters 2 --stage 3: the alignment of pass 2 made again" has r2res.log 'resuming at pass 3: the alignment of pass 2 made again with 2.mdl'
check "--realign-iters 2 --stage 3: the same bytes" cmp -s exp/r2nj3/final.mdl exp/r2nj1/final.mdl
rm exp/r2nj3/4.mdl exp/r2nj3/final.mdl
"$root/recipes/train_hmms.sh" --nj 2 "${vopts[@]}" --realign-iters "2" --stage 1 data/train exp/r2nj3 > r2res1.log 2>&1
check "--realign-iters 2 --stage 1: the equal alignment made again, the same bytes" cmp -s exp/r2nj3/final.mdl exp/r2nj1/final.mdl
# --realign-iters all: the best path under the current models in every pass (pass 0 too), i.e. the
# statistics of acc-hmms --mode viterbi without --alignments: the bytes of cepstra train-hmms --mode viterbi.
"$root/recipes/train_hmms.sh" --nj 3 "${vopts[@]}" --realign-iters all data/train exp/rall > rall.log 2>&1
check "--realign-iters all succeeds" has rall.log 'Succeeded: exp/rall/final.mdl'
check "--realign-iters all: every pass realigned" \
  test "$(cat exp/rall/log/pass.*.log | grep -c '^pass [0-3]: realigned with [0-3].mdl$')" -eq 4
cepstra train-hmms --mode=viterbi --num-states=3 --num-gauss=2 --num-iters=4 --mix-up-at=2 \
  --min-gaussian-occupancy=1 scp:data/train/feats.scp data/train/text vit_all.mdl 2> vit_all.log
check "--realign-iters all: the bytes of cepstra train-hmms --mode viterbi" cmp -s exp/rall/final.mdl vit_all.mdl
"$root/recipes/train_hmms.sh" --nj 2 "${vopts[@]}" --realign-iters none data/train exp/rnone > rnone.log 2>&1
check "--realign-iters none: every pass along the equal alignment" \
  test "$(cat exp/rnone/log/pass.*.log | grep -c 'not realigned: the equal alignment')" -eq 4
# Words whose segments are not of equal length (1/2, 1/4, 1/4): there the schedule matters.
mkdir -p data/uneq
awk 'BEGIN { srand(2); split("one two three", w, " ");
  for (c = 1; c <= 3; c++) for (u = 0; u < 10; u++) {
    id = sprintf("spk%d_%s_%02d", u % 2, w[c], u); T = 16 + (u * 5) % 11;
    printf "%s  [\n", id;
    for (t = 0; t < T; t++) { seg = (t < T / 2 ? 0 : (t < 3 * T / 4 ? 1 : 2)) * 2 * c;
      printf "  %.4f %.4f%s\n", seg + rand() - 0.5, -seg + rand() - 0.5, (t == T - 1 ? " ]" : "") }
    print id, w[c] > "data/uneq/text"; print id, "spk" (u % 2) > "data/uneq/utt2spk" } }' > uneq.txt
sort -o data/uneq/text data/uneq/text; sort -o data/uneq/utt2spk data/uneq/utt2spk
cepstra copy-feats ark,t:uneq.txt "ark,scp:$work/data/uneq/feats.ark,$work/data/uneq/feats.scp" 2> copy_uneq.log
for r in all none 2; do
  "$root/recipes/train_hmms.sh" --nj 3 "${vopts[@]}" --realign-iters "$r" data/uneq "exp/uneq_$r" > "uneq_$r.log" 2>&1
done
"$root/recipes/train_hmms.sh" --nj 1 "${vopts[@]}" data/uneq exp/uneq_kaldi1 > uneq_kaldi1.log 2>&1
"$root/recipes/train_hmms.sh" --nj 3 "${vopts[@]}" data/uneq exp/uneq_kaldi3 > uneq_kaldi3.log 2>&1
check "uneven segments: Kaldi's schedule, --nj 1 and --nj 3 give the same bytes" cmp -s exp/uneq_kaldi1/final.mdl exp/uneq_kaldi3/final.mdl
check "uneven segments: realigning (all) and never (none) give different models" differ exp/uneq_all/final.mdl exp/uneq_none/final.mdl
check "uneven segments: realigning on pass 2 only is neither" \
  eval 'differ exp/uneq_2/final.mdl exp/uneq_all/final.mdl && differ exp/uneq_2/final.mdl exp/uneq_none/final.mdl'
check "uneven segments: Kaldi's schedule is not every pass (pass 0: the equal alignment)" differ exp/uneq_kaldi3/final.mdl exp/uneq_all/final.mdl
"$root/recipes/train_hmms.sh" --nj 2 "${vopts[@]}" --realign-iters "1 x" data/train exp/rbad > rbad.log 2>&1
check "--realign-iters with a non-number fails naming it" has rbad.log "--realign-iters must be pass numbers .* got '1 x'"
check "... before any work" test ! -e exp/rbad/0.mdl
"$root/recipes/train_hmms.sh" --nj 2 "${vopts[@]}" --realign-iters "-1" data/train exp/rbad > rbad2.log 2>&1
check "--realign-iters -1 fails" has rbad2.log "--realign-iters must be pass numbers"
"$root/recipes/train_hmms.sh" --nj 2 "${opts[@]}" --realign-iters "1 2" data/train exp/rbw > rbw.log 2>&1
check "--realign-iters with --mode baum-welch fails clearly" has rbw.log '--realign-iters applies to --mode viterbi only'
check "... before any work" test ! -e exp/rbw/0.mdl
# Per-word options: "one" 2 states and 1 Gaussian, "three" 4 states mixed up to its own 3 Gaussians.
printf '# by word length\none --num-states=2 --num-gauss=1\nthree --num-states=4 --num-gauss=3  # longer\n' > class.opts
"$root/recipes/train_hmms.sh" --nj 1 "${opts[@]}" --class-opts class.opts data/train exp/co1 > co1.log 2>&1
check "--class-opts: train_hmms.sh --nj 1 succeeds" has co1.log 'Succeeded: exp/co1/final.mdl'
"$root/recipes/train_hmms.sh" --nj 3 "${opts[@]}" --class-opts class.opts data/train exp/co3 > co3.log 2>&1
check "--class-opts: --nj 1 and --nj 3 give the same bytes" cmp -s exp/co1/final.mdl exp/co3/final.mdl
cepstra train-hmms --num-states=3 --num-gauss=2 --num-iters=4 --mix-up-at=2 --min-gaussian-occupancy=1 \
  --class-opts=class.opts scp:data/train/feats.scp data/train/text co_all.mdl 2> co_all.log
check "--class-opts: ... and those of cepstra train-hmms --class-opts" cmp -s exp/co1/final.mdl co_all.mdl
cepstra hmm-info exp/co3/final.mdl > co_info.txt 2>/dev/null
check "--class-opts: one has 2 states of 1 Gaussian" has co_info.txt $'^one\t2\t1,1\t'
check "--class-opts: three has 4 states mixed up to 3 Gaussians" has co_info.txt $'^three\t4\t3,3,3,3\t.*\t--num-gauss=3 --num-states=4$'
check "--class-opts: two keeps the command line's 3 states of 2" has co_info.txt $'^two\t3\t2,2,2\t.*\t-$'
printf 'one --num-states=2\ntwo --mode=viterbi\n' > bad.opts
"$root/recipes/train_hmms.sh" --nj 2 "${opts[@]}" --class-opts bad.opts data/train exp/badco > badco.log 2>&1
check "--class-opts: an option no word may set alone fails naming file and line" \
  has exp/badco/log/init.log 'bad.opts:2: .*--mode: cannot be set per class'
"$root/recipes/train_hmms.sh" --nj 2 "${opts[@]}" --class-opts nowhere.opts data/train exp/badco2 > badco2.log 2>&1
check "--class-opts: a missing file fails naming it" has badco2.log 'no such file nowhere.opts'
"$root/recipes/train_hmms.sh" --nj 2 data/nowhere exp/x > bad.log 2>&1
check "a missing data dir fails naming the file" has bad.log 'no such file data/nowhere/feats.scp'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
