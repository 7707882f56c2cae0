#!/usr/bin/env bash
# results_table.sh: run the recipes in the settings of the README's results table and write the table
# (markdown) from the lines the runs append to egs/*/exp/RESULTS: accuracy, wall time and per-stage times.
#   egs/tidigits (when the corpus exists): coursework split from the wavs and from the provided features,
#     5 seeds each; seed 0 with --nj 1, --nj 2 (and --nj 4 with run.pl and slurm.pl); --train-set all;
#     per-speaker CMN and CMVN (--cmvn speaker [--norm-vars true]) and per-utterance CMVN
#   egs/synth_digits: K=5 with --nj 1, --nj 2 (and --nj 4 with run.pl and slurm.pl); K=1; K=8; per-speaker
#     CMN and CMVN and per-utterance CMVN
# The slurm.pl rows need a running cluster (scripts/local_slurm.sh start; $CEPSTRA_SLURM_DIR), else they are
# left out.  The binary is built first if stale (path.sh), untimed.
# Usage: scripts/results_table.sh [--corpus DIR] [--out egs/RESULTS.md]
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
corpus=$root/../shared/data/ti-digits
out=$root/egs/RESULTS.md
help_message=$(sed -n '2,10s/^# \{0,1\}//p' "$0")
# shellcheck source=SCRIPTDIR/parse_options.sh
. "$root/scripts/parse_options.sh"
[ $# -eq 0 ] || { printf '%s\n' "$help_message" >&2; exit 1; }

# shellcheck source=SCRIPTDIR/../egs/synth_digits/path.sh
(cd "$root/egs/synth_digits" && . ./path.sh)
export CEPSTRA_NO_BUILD=true
slurm=false
export CEPSTRA_SLURM_DIR=${CEPSTRA_SLURM_DIR:-/tmp/cepstra-slurm}
if "$root/scripts/local_slurm.sh" status > /dev/null 2>&1; then
  # The cluster's client environment: SLURM_CONF and the start-up kick (see README, Running on a cluster).
  # shellcheck disable=SC1091
  . "$CEPSTRA_SLURM_DIR/env.sh"
  slurm=true
fi

rows=()
# run RECIPE SETTING ARGS...: run egs/RECIPE/run.sh ARGS, then a table row from its exp/RESULTS line
run() {
  local egs=$1 setting=$2 line
  shift 2
  echo "$0: egs/$egs/run.sh $*" >&2
  "$root/egs/$egs/run.sh" "$@" > /dev/null 2> "/tmp/results_table.$egs.log" ||
    { tail -n 20 "/tmp/results_table.$egs.log" >&2; echo "$0: egs/$egs/run.sh $* failed" >&2; exit 1; }
  line=$(tail -n 1 "$root/egs/$egs/exp/RESULTS")
  echo "$0:   $line" >&2
  rows+=("$(awk -F '\t' -v egs="$egs" -v setting="$setting" '
    { for (i = 1; i <= NF; i++) { split($i, w, " "); f[w[1]] = substr($i, length(w[1]) + 2) }
      n = split(f["stages"], s, " "); st = ""
      for (j = 1; j < n; j += 2) st = st (j > 1 ? ", " : "") s[j] " " s[j + 1]
      acc = $NF; sub(/^accuracy /, "", acc)
      printf "| `egs/%s` | %s | %s | %s | **%s** | %s | %s |\n", egs, setting, f["nj"], f["cmd"], acc, f["wall"], st }' <<< "$line")")
}

if [ -f "$corpus/train/wav.scp" ]; then
  corpus=$(cd "$corpus" && pwd)
  run tidigits "coursework 330/110, from the wavs, seeds 0-4" --corpus "$corpus" --nj 2 --seeds 0,1,2,3,4
  run tidigits "coursework 330/110, provided features, seeds 0-4" --corpus "$corpus" --nj 2 --seeds 0,1,2,3,4 \
    --use-provided-feats true
  run tidigits "coursework, from the wavs, seed 0" --corpus "$corpus" --nj 1
  run tidigits "coursework, from the wavs, seed 0" --corpus "$corpus" --nj 2
  run tidigits "coursework, from the wavs, seed 0" --corpus "$corpus" --nj 4
  if $slurm; then run tidigits "coursework, from the wavs, seed 0" --corpus "$corpus" --nj 4 --cmd slurm.pl; fi
  run tidigits "--train-set all 2072/110, seed 0" --corpus "$corpus" --nj 2 --train-set all
  run tidigits "coursework, from the wavs, utterance CMVN, seed 0" --corpus "$corpus" --nj 2 --norm-vars true
  run tidigits "coursework, from the wavs, speaker CMN, seed 0" --corpus "$corpus" --nj 2 --cmvn speaker
  run tidigits "coursework, from the wavs, speaker CMVN, seed 0" --corpus "$corpus" --nj 2 --cmvn speaker --norm-vars true
  run tidigits "coursework, from the wavs, speaker CMVN, seeds 0-4" --corpus "$corpus" --nj 2 --seeds 0,1,2,3,4 \
    --cmvn speaker --norm-vars true
  run tidigits "--train-set all 2072/110, speaker CMVN, seed 0" --corpus "$corpus" --nj 2 --train-set all \
    --cmvn speaker --norm-vars true
fi
(cd "$root/egs/synth_digits" && local/make_corpus.sh corpus) 2> /dev/null
run synth_digits "K=5, seed 0" --nj 1
run synth_digits "K=5, seed 0" --nj 2
run synth_digits "K=5, seed 0" --nj 4
if $slurm; then run synth_digits "K=5, seed 0" --nj 4 --cmd slurm.pl; fi
run synth_digits "K=5, seeds 0-4" --nj 2 --seeds 0,1,2,3,4
run synth_digits "K=1, seed 0" --nj 2 --num-gauss 1
run synth_digits "K=8, seed 0" --nj 2 --num-gauss 8
run synth_digits "K=5, utterance CMVN, seed 0" --nj 2 --norm-vars true
run synth_digits "K=5, speaker CMN, seed 0" --nj 2 --cmvn speaker
run synth_digits "K=5, speaker CMVN, seed 0" --nj 2 --cmvn speaker --norm-vars true
run synth_digits "K=5, speaker CMVN, seeds 0-4" --nj 2 --seeds 0,1,2,3,4 --cmvn speaker --norm-vars true

{
  echo "| recipe | setting | nj | cmd | accuracy | wall | stages (wall s) |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Full covariance, 5 EM passes after a per-class k-means initialisation; per-utterance CMN unless the"
  echo "setting says otherwise (utterance CMVN: \`--norm-vars true\`; speaker CMN/CMVN: \`--cmvn speaker\`"
  echo "[\`--norm-vars true\`], statistics of each speaker's own utterances, train and test); wall time of \`run.sh\` from data"
  echo "preparation to the score (the binary already built; the synthetic corpus already made), on $(nproc) CPUs"
  echo "($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)), load average $(cut -d' ' -f1-3 /proc/loadavg)" \
    "at the end; \`slurm.pl\`: the 2-node local cluster of \`scripts/local_slurm.sh\` on the same machine."
  echo "Made by \`scripts/results_table.sh\` from the \`exp/RESULTS\` lines of the runs ($(date -u +%F))."
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "$0: wrote $out" >&2
cat "$out"
