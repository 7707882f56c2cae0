#!/usr/bin/env bash
# results_table.sh: run the recipes in the settings of the README's results table and write the table
# (markdown) from the lines the runs append to egs/*/exp/RESULTS: accuracy, wall time and per-stage times.
#   egs/tidigits (when the corpus exists): coursework split from the wavs and from the provided features,
#     5 seeds each; seed 0 with --nj 1, --nj 2 (and --nj 4 with run.pl and slurm.pl); --train-set all;
#     per-speaker CMN and CMVN (--cmvn speaker [--norm-vars true]) and per-utterance CMVN
#   egs/synth_digits: K=5 with --nj 1, --nj 2 (and --nj 4 with run.pl and slurm.pl); K=1; K=8; per-speaker
#     CMN and CMVN and per-utterance CMVN
#   HMM rows (--model hmm, from stage 3 on the features of the GMM rows): the --model hmm defaults of each
#     recipe, S8 M4 diag (hmmlearn's setting) with Baum-Welch and Viterbi training, the best full-covariance
#     setting; tidigits also with --train-set all
# --models hmm runs the HMM rows only and keeps the GMM rows of the table already in --out.
# The slurm.pl rows need a running cluster (scripts/local_slurm.sh start; $CEPSTRA_SLURM_DIR), else they are
# left out.  The binary is built first if stale (path.sh), untimed.
# Usage: scripts/results_table.sh [--corpus DIR] [--out egs/RESULTS.md] [--models gmm,hmm]
set -euo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
corpus=$root/../shared/data/ti-digits
out=$root/egs/RESULTS.md
models=gmm,hmm
help_message=$(sed -n '2,15s/^# \{0,1\}//p' "$0")
# shellcheck source=SCRIPTDIR/parse_options.sh
. "$root/scripts/parse_options.sh"
[ $# -eq 0 ] || { printf '%s\n' "$help_message" >&2; exit 1; }
want() { [[ ,$models, == *,$1,* ]]; }   # want gmm|hmm: its rows are (re)made
want gmm || want hmm || { echo "$0: --models must list gmm and/or hmm, got $models" >&2; exit 1; }

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
if ! want gmm; then   # the GMM rows of the existing table, kept as they are
  [ -f "$out" ] || { echo "$0: --models $models keeps the GMM rows of $out, which does not exist" >&2; exit 1; }
  mapfile -t rows < <(grep '^| .egs/' "$out" | grep -v '^| .egs/[a-z_]*. | HMM ')
fi
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

ti=false
if [ -f "$corpus/train/wav.scp" ]; then ti=true; fi
if $ti && want gmm; then
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
if want gmm; then
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
fi

# Word HMMs (--model hmm), on the features the GMM rows made (stage 3: train, 4: score).  "HMM S<states> M<Gaussians
# per state> <covariance>, <training>" spells out the setting; "defaults" are the recipe's --model hmm defaults.
if want hmm; then
  if $ti; then
    run tidigits "HMM defaults (S8 M4 diag, Baum-Welch), coursework, seeds 0-2" --stage 3 --nj 2 --model hmm --seeds 0,1,2
    run tidigits "HMM S8 M4 diag, Viterbi training, coursework, seeds 0-2" --stage 3 --nj 2 --model hmm \
      --num-states 8 --num-gauss 4 --covariance diag --hmm-mode viterbi --seeds 0,1,2
    run tidigits "HMM S12 M4 diag, Baum-Welch, coursework, seed 0" --stage 3 --nj 2 --model hmm --num-states 12
    run tidigits "HMM S5 M1 full, Baum-Welch, coursework, seed 0" --stage 3 --nj 2 --model hmm \
      --num-states 5 --num-gauss 1 --covariance full
    run tidigits "HMM defaults, --train-set all 2072/110, seed 0" --stage 3 --nj 2 --model hmm --train-set all
    run tidigits "HMM S12 M4 diag, --train-set all 2072/110, seed 0" --stage 3 --nj 2 --model hmm --train-set all \
      --num-states 12
  fi
  run synth_digits "HMM defaults (S20 M4 diag, Baum-Welch), seeds 0-2" --stage 3 --nj 2 --model hmm --seeds 0,1,2
  run synth_digits "HMM S20 M4 diag, Viterbi training, seeds 0-2" --stage 3 --nj 2 --model hmm --hmm-mode viterbi \
    --seeds 0,1,2
  run synth_digits "HMM S8 M4 diag, Baum-Welch (hmmlearn's setting), seeds 0-2" --stage 3 --nj 2 --model hmm \
    --num-states 8 --seeds 0,1,2
  run synth_digits "HMM S8 M4 diag, Viterbi training, seeds 0-2" --stage 3 --nj 2 --model hmm --num-states 8 \
    --hmm-mode viterbi --seeds 0,1,2
  run synth_digits "HMM S12 M1 full, Baum-Welch, seeds 0-2" --stage 3 --nj 2 --model hmm --num-states 12 \
    --num-gauss 1 --covariance full --seeds 0,1,2
fi

{
  echo "| recipe | setting | nj | cmd | accuracy | wall | stages (wall s) |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "GMM rows: full covariance, 5 EM passes after a per-class k-means initialisation; per-utterance CMN unless the"
  echo "setting says otherwise (utterance CMVN: \`--norm-vars true\`; speaker CMN/CMVN: \`--cmvn speaker\`"
  echo "[\`--norm-vars true\`], statistics of each speaker's own utterances, train and test); wall time of \`run.sh\` from data"
  echo "preparation to the score (the binary already built; the synthetic corpus already made), on $(nproc) CPUs"
  echo "($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)), load average $(cut -d' ' -f1-3 /proc/loadavg)" \
    "at the end; \`slurm.pl\`: the 2-node local cluster of \`scripts/local_slurm.sh\` on the same machine."
  echo "HMM rows (\`--model hmm\`, \`recipes/train_hmms.sh\`): one left-to-right GMM-HMM per word, equal-segmentation"
  echo "flat start, 20 passes, mixing up 1 → M Gaussians per state after passes 2, 4, 6, forward scoring; their wall"
  echo "time is stages 3 and 4 only (training and scoring, on the GMM rows' features)."
  if ! want gmm; then echo "(Made with \`--models hmm\`: the GMM rows are the earlier table's, the load average is this run's.)"; fi
  echo "Made by \`scripts/results_table.sh\` from the \`exp/RESULTS\` lines of the runs ($(date -u +%F))."
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "$0: wrote $out" >&2
cat "$out"
