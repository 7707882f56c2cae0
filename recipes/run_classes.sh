# shellcheck shell=bash
# shellcheck disable=SC2154  # recipe, corpus_help, train, test: set by the run.sh that sources this file
# recipes/run_classes.sh: the stages that every egs/<corpus>/run.sh shares (as Kaldi keeps shared steps in
# steps/), sourced by run.sh once it has set its own options' defaults and defined
#   recipe          the recipe's name in exp/RESULTS, e.g. tidigits
#   corpus_help     the help lines of its own options
#   recipe_setup    called after the options are parsed: checks them, sets train and test (the data dirs
#                   stage 0 makes) and, for a corpus with its own features, feats_from=provided
#   recipe_prepare  stage 0: makes $train and $test (wav.scp, text, utt2spk, spk2utt; feats.scp if provided)
# Stages: 0 data (recipe_prepare), 1 validate, 2 features, 3 train, 4 score.  The last line printed is the
# result; exp/RESULTS gets one line per run.
# Models (--model): gmm, one GMM per class (recipes/train_classes.sh, the default); hmm, one left-to-right
# GMM-HMM per class (recipes/train_hmms.sh: --num-states, --num-gauss per state, --hmm-mode viterbi|baum-welch;
# scored by classify --score forward|viterbi; the report adds each error's features with the Viterbi state
# boundaries of the reference and of the recognised word, and per-state durations).
#
# Names (every setting that changes a model set is in its directory's name or in its config file):
#   data/<set>_<fe>     the final features: MFCC (conf/mfcc.conf) | normalisation | add-deltas, where <fe> is
#                       cmn (per-utterance means, the default), cmvn (per-utterance means and variances),
#                       spkcmn or spkcmvn (per speaker, Kaldi's compute-cmvn-stats --spk2utt + apply-cmvn
#                       --utt2spk; the raw MFCC and cmvn.scp are then in data/<set>); <fe>/frontend says how
#   exp/classes_<train-tag>_<cov>_k<K>_i<iters>[_o<cksum of --gmm-opts>]_s<seed>/   the model set, where
#                       <train-tag> is the train data dir's name after "train_" (cmn, all_spkcmvn, provided)
#     config            every setting of the model set (recipes/train_classes.sh refuses to mix settings)
#     score_<test>/     the scores of data/<test> (e.g. score_test_cmn), report.html
#   exp/classes_<...>_s<S1+S2+...>/score_<test>/report.html   with --seeds: the summary page of the seeds
#   exp/hmm_<train-tag>_<cov>_st<S>_m<M>_<bw|vit>[_skip]_i<passes>[_o<cksum of --hmm-opts>]_s<seed>/   an HMM set
#                       (--model hmm), with the same config file; score_<test>[_viterbi]/ (forward scores: no
#                       suffix)

# Begin configuration section (defaults; run.sh may set others before sourcing this file).
: "${stage:=0}"
: "${nj:=4}"
: "${cmd:=$train_cmd}"
: "${model:=gmm}"
: "${num_gauss:=}"         # (empty: the --model's default, below)
: "${covariance:=}"
: "${num_iters:=}"
: "${num_states:=8}"       # (run.sh may set its corpus's best, as for the others)
: "${hmm_mode:=baum-welch}"
: "${topology:=linear}"
: "${score:=forward}"
: "${hmm_opts:=}"
: "${seed:=0}"
: "${seeds:=}"
: "${gmm_opts:=}"
: "${cmvn:=utterance}"
: "${norm_vars:=false}"
# End configuration section.
help_message="usage: $0 [options]
Options [default]:
$corpus_help
  --stage N                       resume from stage N: 0 data, 1 validate, 2 features, 3 train, 4 score [$stage]
  --nj N                          parallel jobs [$nj]
  --cmd CMD                       run.pl or slurm.pl (default from cmd.sh) [$cmd]
  --cmvn utterance|speaker        mean (and variance) statistics per utterance or per speaker [$cmvn]
  --norm-vars true|false          normalise variances too (CMVN instead of CMN) [$norm_vars]
  --model gmm|hmm                 one GMM per class, or one left-to-right GMM-HMM per class [$model]
  --num-gauss K                   Gaussians per class (hmm: per state) [${num_gauss:-5 (gmm), 4 (hmm)}]
  --covariance full|diag          [${covariance:-full (gmm), diag (hmm)}]
  --num-iters N                   EM passes (hmm: training passes) [${num_iters:-5 (gmm), 20 (hmm)}]
  --num-states S                  hmm: emitting states per word [$num_states]
  --hmm-mode baum-welch|viterbi   hmm: statistics of a pass (forward-backward or best path) [$hmm_mode]
  --topology linear|skip          hmm: transitions (self-loop, next; skip: also skip one state) [$topology]
  --score forward|viterbi         hmm: score by every path or by the best one [$score]
  --hmm-opts \"...\"                hmm: extra options of cepstra init-hmms (floors, --allow-any-end) [$hmm_opts]
  --seed S                        k-means seed [$seed]
  --seeds S1,S2,...               several seeds: mean ± sd of the accuracy [$seeds]
  --gmm-opts \"...\"                extra options of cepstra init-classes [$gmm_opts]"
declare -A hmm_defaults   # (so that --model gmm can refuse an HMM option that was given)
for v in num_states hmm_mode topology score hmm_opts; do hmm_defaults[$v]=${!v}; done
# shellcheck source=SCRIPTDIR/../scripts/parse_options.sh
. parse_options.sh
set -euo pipefail
[ $# -eq 0 ] || { printf '%s\n' "$help_message" >&2; echo "$0: unexpected argument $1" >&2; exit 1; }
case $cmvn in utterance|speaker) ;; *) echo "$0: --cmvn must be utterance or speaker, got $cmvn" >&2; exit 1 ;; esac
case $model in
  gmm) : "${num_gauss:=5}" "${covariance:=full}" "${num_iters:=5}" ;;
  hmm) : "${num_gauss:=4}" "${covariance:=diag}" "${num_iters:=20}"
       case $hmm_mode in baum-welch|viterbi) ;; *) echo "$0: --hmm-mode must be baum-welch or viterbi, got $hmm_mode" >&2; exit 1 ;; esac
       case $topology in linear|skip) ;; *) echo "$0: --topology must be linear or skip, got $topology" >&2; exit 1 ;; esac
       case $score in forward|viterbi) ;; *) echo "$0: --score must be forward or viterbi, got $score" >&2; exit 1 ;; esac ;;
  *) echo "$0: --model must be gmm or hmm, got $model" >&2; exit 1 ;;
esac
if [ "$model" = gmm ]; then
  for v in num_states hmm_mode topology score hmm_opts; do
    [ "${!v}" = "${hmm_defaults[$v]}" ] || { echo "$0: --${v//_/-} is an option of --model hmm" >&2; exit 1; }
  done
fi
IFS=, read -ra seed_list <<< "${seeds:-$seed}"
[ ${#seed_list[@]} -gt 0 ] || { echo "$0: empty --seeds" >&2; exit 1; }
feats_from=wavs
recipe_setup

# The names (see the header).
if $norm_vars; then fe=cmvn; else fe=cmn; fi
if [ "$cmvn" = speaker ]; then fe=spk$fe; fi
if [ "$feats_from" = provided ]; then
  [ "$fe" = cmn ] || { echo "$0: the corpus's features are already normalised (per-utterance CMN) and have" \
    "deltas: --cmvn $cmvn --norm-vars $norm_vars needs features from the wavs" >&2; exit 1; }
  train_fe=$train; test_fe=$test
  frontend_opts="--cmvn=utterance --deltas=2"   # Kaldi's features, of options not recorded here
else
  train_fe=${train}_$fe; test_fe=${test}_$fe
  frontend_opts="--feature-config=conf/mfcc.conf --cmvn=$cmvn --norm-vars=$norm_vars --deltas=2"
fi
# (the model set records its front-end, so that cepstra recognize runs it on new audio)
train_tag=${train_fe#data/train}; train_tag=${train_tag#_}
opts_tag=
if [ "$model" = gmm ]; then
  if [ -n "$gmm_opts" ]; then read -r opts_tag _ < <(cksum <<< "$gmm_opts"); opts_tag=_o$opts_tag; fi
  tag=${train_tag}_${covariance}_k${num_gauss}_i${num_iters}$opts_tag
  prefix=classes
  scoredir=score_${test_fe#data/}
else
  if [ -n "$hmm_opts" ]; then read -r opts_tag _ < <(cksum <<< "$hmm_opts"); opts_tag=_o$opts_tag; fi
  mode_tag=bw; [ "$hmm_mode" = viterbi ] && mode_tag=vit
  topo_tag=; [ "$topology" = skip ] && topo_tag=_skip
  tag=${train_tag}_${covariance}_st${num_states}_m${num_gauss}_${mode_tag}${topo_tag}_i${num_iters}$opts_tag
  prefix=hmm
  scoredir=score_${test_fe#data/}; [ "$score" = viterbi ] && scoredir+=_viterbi
fi
exp_of() { echo "exp/${prefix}_${tag}_s$1"; }   # exp_of SEED: the model set's directory

# wall time per stage, for exp/RESULTS (bash's clock: no process launched)
start=${EPOCHREALTIME/./}; last=$start; stage_times=
mark() {  # mark NAME: the time since the previous mark; a progress line on stderr
  local t=${EPOCHREALTIME/./} d
  d=$(( (t - last + 5000) / 10000 )); last=$t
  printf -v d '%d.%02d' $((d / 100)) $((d % 100))
  stage_times+="${stage_times:+ }$1 $d"
  echo "$0: stage $1 done ($d s)" >&2
}
begin() { echo "$0: stage $*" >&2; }  # begin "N NAME: what": a progress line on stderr

if [ "$stage" -le 0 ]; then
  begin "0 data: preparing $train and $test"
  recipe_prepare
  if [ "$feats_from" = provided ]; then
    for d in "$train" "$test"; do echo "the corpus's own features (its feats.scp)" > "$d/frontend"; done
  fi
  mark data
fi

if [ "$stage" -le 1 ]; then
  begin "1 validate: $train and $test"
  for d in "$train" "$test"; do
    [ -f "$d/text" ] || { echo "$0: no $d/text: run stage 0 (data preparation) first" >&2; exit 1; }
    if [ "$feats_from" = provided ]; then cepstra validate-data-dir "$d"; else cepstra validate-data-dir --no-feats "$d"; fi
  done
  mark validate
fi

# features DATA DEST: the final features of DATA into the data dir DEST
features() {
  local data=$1 dest=$2 conf
  mapfile -t conf < conf/mfcc.conf
  if [ "$cmvn" = utterance ]; then
    # one pipeline per job: compute-mfcc-feats | apply-cmvn (each utterance's own statistics) | add-deltas
    mkdir -p "$dest"
    cp "$data/wav.scp" "$data/text" "$data/utt2spk" "$data/spk2utt" "$dest/"
    make_mfcc.sh --nj "$nj" --cmd "$cmd" --mfcc-config conf/mfcc.conf --compress false --cmvn-deltas true \
      --norm-vars "$norm_vars" "$dest" exp/make_mfcc/log "$dest/data"
  else
    # Kaldi's per-speaker CMVN: raw MFCC and per-speaker statistics in DATA, applied into DEST
    make_mfcc.sh --nj "$nj" --cmd "$cmd" --mfcc-config conf/mfcc.conf --compress false "$data" exp/make_mfcc/log "$data/data"
    compute_cmvn_stats.sh --cmd "$cmd" "$data" exp/make_mfcc/log "$data/data"
    apply_cmvn.sh --nj "$nj" --cmd "$cmd" --norm-vars "$norm_vars" "$data" exp/make_mfcc/log "$dest"
  fi
  echo "compute-mfcc-feats ${conf[*]} | apply-cmvn per $cmvn, norm-vars $norm_vars | add-deltas" > "$dest/frontend"
  # (no validate-data-dir of DEST: make_mfcc.sh / apply_cmvn.sh validated the input, wrote feats.scp in
  # utt2spk's order and checked it has a line per utterance, so a second pass over the files would find
  # nothing new)
}

if [ "$stage" -le 2 ] && [ "$feats_from" = wavs ]; then
  begin "2 features: $train_fe and $test_fe ($fe, nj $nj)"
  # Train and test at the same time: on a cluster that is one scheduling round trip instead of two.
  for d in "$train" "$test"; do
    [ -f "$d/wav.scp" ] || { echo "$0: no $d/wav.scp: run stage 0 (data preparation) first" >&2; exit 1; }
  done
  features "$train" "$train_fe" & p1=$!
  features "$test" "$test_fe" & p2=$!
  ok=true
  wait "$p1" || ok=false
  wait "$p2" || ok=false
  $ok || { echo "$0: feature extraction failed (see the messages above; logs in exp/make_mfcc/log)" >&2; exit 1; }
  mark features
fi

if [ "$stage" -le 3 ]; then
  for d in "$train_fe" "$test_fe"; do
    [ -f "$d/feats.scp" ] || { echo "$0: no $d/feats.scp: run stage 2 (features) first" >&2; exit 1; }
  done
  if [ ${#seed_list[@]} -eq 1 ]; then begin "3 train: $(exp_of "${seed_list[0]}")"
  else begin "3 train: ${#seed_list[@]} model sets $(exp_of "{$(IFS=,; echo "${seed_list[*]}")}")"; fi
  for s in "${seed_list[@]}"; do
    if [ "$model" = gmm ]; then
      train_classes.sh --nj "$nj" --cmd "$cmd" --num-gauss "$num_gauss" --covariance "$covariance" \
        --num-iters "$num_iters" --seed "$s" --gmm-opts "$gmm_opts" --frontend-opts "$frontend_opts" \
        "$train_fe" "exp/classes_${tag}_s$s"
    else
      dir=$(exp_of "$s")
      # every setting of the HMM set, as train_classes.sh keeps them (a dir of other settings is refused)
      printf -v config '%s\n' "model hmm" "data $train_fe" "num_states $num_states" "num_gauss $num_gauss" \
        "covariance $covariance" "num_iters $num_iters" "mode $hmm_mode" "topology $topology" "seed $s" \
        "hmm_opts $hmm_opts" "frontend ${frontend_opts}"
      if [ -f "$dir/config" ] && [ "$(< "$dir/config")" != "${config%$'\n'}" ]; then
        echo "$0: $dir holds an HMM set of other settings:" >&2; diff "$dir/config" - <<< "${config%$'\n'}" >&2
        exit 1
      fi
      mkdir -p "$dir" && printf '%s' "$config" > "$dir/config"
      train_hmms.sh --nj "$nj" --cmd "$cmd" --num-states "$num_states" --num-gauss "$num_gauss" \
        --covariance "$covariance" --num-iters "$num_iters" --mode "$hmm_mode" --topology "$topology" \
        --seed "$s" --hmm-opts "$hmm_opts" --frontend-opts "$frontend_opts" "$train_fe" "$dir"
    fi
  done
  mark train
fi

if [ "$stage" -le 4 ]; then
  begin "4 score: $test_fe"
  score_opts=()
  if [ "$model" = hmm ]; then score_opts=(--classify-opts "--score $score" --align-hmms true); fi
  for s in "${seed_list[@]}"; do
    score.sh --nj "$nj" --cmd "$cmd" "${score_opts[@]}" "$(exp_of "$s")/final.mdl" "$test_fe" "$(exp_of "$s")/$scoredir"
  done
  if [ ${#seed_list[@]} -gt 1 ]; then
    # the summary page of the seeds: accuracy per seed, mean ± sd, per-class recall, errors no seed avoids
    seeds_dir=$(exp_of "$(IFS=+; echo "${seed_list[*]}")")/$scoredir
    hyps=()
    for s in "${seed_list[@]}"; do hyps+=("$(exp_of "$s")/$scoredir/hyp.txt"); done
    mkdir -p "$seeds_dir/log"
    cepstra compute-accuracy --report "$seeds_dir/report.html" --title "$recipe $tag: seeds ${seed_list[*]}" \
      "$test_fe/text" "${hyps[@]}" > "$seeds_dir/accuracy.txt" 2> "$seeds_dir/log/compute_accuracy.log" ||
      { cat "$seeds_dir/log/compute_accuracy.log" >&2; echo "$0: the seeds' summary failed" >&2; exit 1; }
    echo "$0: summary of the seeds: $seeds_dir/report.html" >&2
  fi
  mark score
fi

# The result: the last line printed.
result_tag=$tag
if [ "$model" = hmm ]; then result_tag=hmm_$tag; [ "$score" = viterbi ] && result_tag+=_viterbi; fi
accs=()
for s in "${seed_list[@]}"; do accs+=("$(exp_of "$s")/$scoredir/accuracy.txt"); done
result=$(summarize_accuracy.sh "${accs[@]}")
wall=$(( (${EPOCHREALTIME/./} - start + 5000) / 10000 ))
printf '%s\t%s\tcmvn %s\tnorm-vars %s\tseeds %s\tnj %s\tcmd %s\tstage %s\twall %d.%02d s\tstages %s\t%s\n' \
  "$(TZ=UTC printf '%(%Y-%m-%dT%H:%M:%SZ)T' -1)" "$recipe $result_tag" "$cmvn" "$norm_vars" "${seed_list[*]}" "$nj" "$cmd" "$stage" \
  $((wall / 100)) $((wall % 100)) "$stage_times" "$result" >> exp/RESULTS
echo "$result"
