#!/usr/bin/env bash
# bench_gmm.sh [--reps N] [CORPUS]: issue 3, acceptance 4 and 5. GMM EM speed of cepstra beside
# scikit-learn and Kaldi's own gmm-global-acc-stats / fgmm-global-acc-stats, all measured in this run,
# printed as one table; then the peak memory of `cepstra gmm-train --stream` vs holding the frames.
#
# Data: with CORPUS (default ../shared/data/ti-digits), the MFCC + CMN + Δ + ΔΔ (39-dim) features of all
# 2072 training wavs (cepstra compute-mfcc-feats --sample-frequency=8000 --use-energy=false --dither=0 |
# apply-cmvn | add-deltas: 115.6k frames) and the coursework's own feats.scp split by class (330 utts,
# 18.6k frames); without it, synthetic 39-dim data of the same sizes. The 1.16M workload is the 115.6k
# frames tiled 10×.
# Workloads: coursework = 11 classes × K=5 full, 5 EM iterations each (time of the whole run);
# K=64 full, K=64 diag on 115.6k frames and K=64 diag on 1.16M frames (time of one iteration).
# Every engine starts from the same k-means models (written by cepstra as JSON and as Kaldi binary).
# Engines, each timed as the median of --reps repetitions (default 3) after one warm-up:
#  - cepstra: crates/cepstra-gmm/examples/em_bench.rs (accumulate + estimate, no floors) with 1 thread
#    and with all threads (the coursework's 11 classes in parallel, as train-classes does);
#  - scikit-learn (PyPI): GaussianMixture's own _e_step + _m_step per iteration (reg_covar=0), thread
#    pools limited to 1 (threadpoolctl, OMP/OPENBLAS/MKL_NUM_THREADS=1); ../shared/notes/anchors.md §2
#    shows that 2 threads are slower on this machine, so it runs at 1 thread only;
#  - Kaldi: gmm-global-acc-stats/fgmm-global-acc-stats + gmm-global-est/fgmm-global-est processes on a
#    Kaldi ark (single-threaded programs), from $KALDI_BIN (default /tmp/kaldi-ref/bin, built by
#    ../shared/tools/kaldi-ref/build.sh when it is missing).
# Columns: wall seconds (per iteration; per 5-iteration run for the coursework) and process CPU seconds
# (robust to other jobs on the box); GFLOP/s = the dense work of an iteration per CPU second, the same
# count for every engine: 4·N·K·D² for full covariance (E-step whitening GEMM + M-step second-order
# statistics, as linalg.md counts) and 4·N·K·(2D+1) for diagonal ([x, x², 1]·W E-step and Rᵀ·[x, x², 1]
# M-step); cepstra does less work than that (triangular factors, frames with posterior 0 skipped), so
# its figure can pass the peak; % of the f64 FMA peak of the kernel set that ran (AVX-512 or AVX2+FMA, the column
# `kernels`; cepstra also runs capped at AVX2 on an AVX-512 machine) measured in the same run (`em_bench peak`,
# one thread and all threads); speed-up of cepstra vs scikit-learn and vs Kaldi on CPU time; the
# peak RSS of each cepstra process (/usr/bin/time -v, features held in memory); the log-likelihood per
# frame of the last pass (the same arithmetic gives the same figure everywhere).
# Environment: PYTHON (a python with numpy, scikit-learn, threadpoolctl; else .venv-ci, /tmp/venv-ref
# or a new /tmp/venv-bench-gmm), KALDI_BIN, CEPSTRA (the cepstra binary).
set -euo pipefail
export LC_ALL=C
reps=3
if [ "${1:-}" = --reps ]; then reps=$2; shift 2; fi
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$here/../shared/data/ti-digits}
cepstra=${CEPSTRA:-$here/target/release/cepstra}
kaldi=${KALDI_BIN:-/tmp/kaldi-ref/bin}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
log() { echo "bench_gmm.sh: $*" >&2; }

[ -x /usr/bin/time ] || { log "installing time (for peak RSS)"; apt-get install -y -qq time >/dev/null 2>&1 || true; }
# Builds go through the checkout's shared build lock when there is one (one build at a time).
lock=(); if [ -e /tmp/cepstra-build.lock ] && command -v flock >/dev/null; then lock=(flock /tmp/cepstra-build.lock); fi
[ -x "$cepstra" ] || (cd "$here" && "${lock[@]}" cargo build --release -q -p cepstra-cli)
(cd "$here" && "${lock[@]}" cargo build --release -q -p cepstra-gmm --example em_bench)
em=$here/target/release/examples/em_bench
load0=$(cut -d' ' -f1-3 /proc/loadavg)

# --- Python with scikit-learn ---------------------------------------------------------------------
has_sk() { "$1" -c 'import numpy, sklearn, threadpoolctl' 2>/dev/null; }
py=
for c in "${PYTHON:-}" "$here/.venv-ci/bin/python" /tmp/venv-ref/bin/python /tmp/venv-bench-gmm/bin/python; do
  if [ -n "$c" ] && [ -x "$c" ] && has_sk "$c"; then py=$c; break; fi
done
if [ -z "$py" ]; then
  log "creating /tmp/venv-bench-gmm (numpy scikit-learn threadpoolctl from PyPI)"
  if python3 -m venv /tmp/venv-bench-gmm >/dev/null 2>&1 &&
     /tmp/venv-bench-gmm/bin/pip install -q --disable-pip-version-check numpy scikit-learn threadpoolctl >/dev/null 2>&1; then
    py=/tmp/venv-bench-gmm/bin/python
  else
    log "no scikit-learn available: its rows are skipped"
  fi
fi

# --- Kaldi ------------------------------------------------------------------------------------------
if [ ! -x "$kaldi/fgmm-global-acc-stats" ] && [ -z "${KALDI_BIN:-}" ] && [ -f "$here/../shared/tools/kaldi-ref/build.sh" ]; then
  log "building Kaldi's reference binaries into /tmp/kaldi-ref"
  bash "$here/../shared/tools/kaldi-ref/build.sh" /tmp/kaldi-ref >"$tmp/kaldi-build.log" 2>&1 || true
fi
if [ -x "$kaldi/fgmm-global-acc-stats" ] && [ -x "$kaldi/gmm-global-acc-stats" ]; then have_kaldi=1; else
  have_kaldi=0; log "no Kaldi binaries in $kaldi: its rows are skipped"; fi

# --- Data -------------------------------------------------------------------------------------------
classes=(Z 1 2 3 4 5 6 7 8 9 O)
mkdir -p "$tmp/cw"
if [ -d "$corpus/train" ]; then
  corpus=$(cd "$corpus" && pwd)
  data="TI-digits features"
  find -L "$corpus/train" -iname '*.wav' | sort |
    awk '{ n = split($0, p, "/"); print p[n-1] p[n], $0 }' | sort -k1,1 > "$tmp/wav.scp"
  "$cepstra" compute-mfcc-feats --sample-frequency=8000 --use-energy=false --dither=0 scp:"$tmp/wav.scp" ark:- 2>/dev/null |
    "$cepstra" apply-cmvn ark:- ark:- 2>/dev/null |
    "$cepstra" add-deltas ark:- "ark,scp:$tmp/all.ark,$tmp/all.scp" 2>/dev/null
  awk -v r="$corpus" '{ print $1, r "/" $2 }' "$corpus/train/feats.scp" > "$tmp/cw_feats.scp"
  for l in "${classes[@]}"; do
    awk -v l="$l" 'NR == FNR { if ($2 == l) k[$1] = 1; next } ($1 in k)' "$corpus/train/text" "$tmp/cw_feats.scp" > "$tmp/cw/$l.scp"
    "$cepstra" copy-feats scp:"$tmp/cw/$l.scp" ark:"$tmp/cw/$l.ark" 2>/dev/null
  done
else
  data="synthetic 39-dim data (no corpus at $corpus)"
  log "$data"
  "$em" synth 115556 2072 "ark,scp:$tmp/all.ark,$tmp/all.scp"
  for i in "${!classes[@]}"; do "$em" synth 1690 30 ark:"$tmp/cw/${classes[$i]}.ark"; done
fi
nframes=$("$cepstra" feat-to-len scp:"$tmp/all.scp" 2>/dev/null)
ncw=$(for l in "${classes[@]}"; do "$cepstra" feat-to-len ark:"$tmp/cw/$l.ark" 2>/dev/null; done | awk '{ s += $1 } END { print s }')
for t in $(seq 1 10); do sed "s/^/t$t-/" "$tmp/all.scp"; done > "$tmp/all10.scp"
log "$data: $nframes frames (all training wavs), $ncw frames (coursework), load average $load0"

# --- Initial models (k-means, seed 0) ---------------------------------------------------------------
for l in "${classes[@]}"; do "$em" init ark:"$tmp/cw/$l.ark" 5 full "$tmp/cw/$l.json"; done
"$em" init scp:"$tmp/all.scp" 64 full "$tmp/full64.json" 4
"$em" init scp:"$tmp/all.scp" 64 diag "$tmp/diag64.json" 4
cw_specs=(); cw_sk=(); for l in "${classes[@]}"; do
  cw_specs+=("$tmp/cw/$l.json=ark:$tmp/cw/$l.ark"); cw_sk+=("$tmp/cw/$l.json=$tmp/cw/$l.ark"); done

# --- Runs -------------------------------------------------------------------------------------------
res=$tmp/results.tsv; : > "$res"   # workload engine threads wall cpu loglike rss_kb kernels
nproc_all=$(nproc)
cep() { # WORKLOAD THREADS ARGS...: one em_bench run
  local w=$1 th=$2; shift 2
  /usr/bin/time -v -o "$tmp/time.txt" "$em" run --threads "$th" --reps "$reps" "$@" > "$tmp/out.json"
  local rss; rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/time.txt")
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("\t".join(map(str, [sys.argv[2], "cepstra", j["threads"], j["wall_median"], j["cpu_median"], j["loglike"], sys.argv[3], j.get("kernels", "?")])))' \
    "$tmp/out.json" "$w" "$rss" >> "$res"
}
cep_sets() { # WORKLOAD ARGS...: cepstra on 1 thread with the best kernel set and, when that is AVX-512,
  # again capped at AVX2+FMA (CEPSTRA_KERNELS), then on all threads with the best set
  local w=$1; shift
  cep "$w" 1 "$@"
  if [ "$best_kernels" = avx512f ]; then CEPSTRA_KERNELS=avx2 cep "$w" 1 "$@"; fi
  cep "$w" 0 "$@"
}
sk() { # WORKLOAD ARGS...
  [ -n "$py" ] || return 0
  local w=$1; shift
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 "$py" "$here/scripts/bench/gmm_sklearn.py" --reps "$reps" "$@" > "$tmp/out.json"
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("\t".join(map(str, [sys.argv[2], "scikit-learn", 1, j["wall_median"], j["cpu_median"], j["loglike"], "-", "-"])))' \
    "$tmp/out.json" "$w" >> "$res"
}
kaldi_iter() { # COV MODEL FEATS: one acc + est iteration of a Kaldi process pair (floors off, as cepstra's
  local p=gmm-global est=(--min-gaussian-weight=0 --min-gaussian-occupancy=0 --min-variance=1e-20)
  [ "$1" = full ] && p=fgmm-global est=(--min-gaussian-weight=0 --min-gaussian-occupancy=0 --variance-floor=1e-20 --max-condition=1e20)
  "$kaldi/$p-acc-stats" "$2" "$3" "$tmp/k.acc" 2>"$tmp/k.log"
  "$kaldi/$p-est" "${est[@]}" "$2" "$tmp/k.acc" "$tmp/k.mdl" 2>>"$tmp/k.log"
}
kaldi_run() { # WORKLOAD COV ITERS MODEL=FEATS...: median over reps of the whole thing (wall, user+sys)
  [ "$have_kaldi" = 1 ] || return 0
  local w=$1 cov=$2 iters=$3; shift 3
  local walls=() cpus=() ll="" r
  for r in $(seq 0 "$reps"); do
    local s e c0 c1 m f
    read -r c0 < <(awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat)
    s=$(date +%s.%N)
    for spec in "$@"; do
      m=${spec%%=*}; f=${spec#*=}
      cp "$m" "$tmp/k.cur"
      for _ in $(seq 1 "$iters"); do kaldi_iter "$cov" "$tmp/k.cur" "$f"; cp "$tmp/k.mdl" "$tmp/k.cur"; done
    done
    e=$(date +%s.%N)
    read -r c1 < <(awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat)
    [ "$r" = 0 ] && continue   # warm-up
    walls+=("$(echo "$e - $s" | bc -l)"); cpus+=("$(echo "($c1 - $c0) / $(getconf CLK_TCK)" | bc -l)")
  done
  ll=nan   # one model: its acc-stats log of the last pass; several models: not pooled here
  [ $# = 1 ] && ll=$(grep -o 'likelihood per frame = [-0-9.e]*' "$tmp/k.log" | tail -1 | awk '{ print $NF }')
  printf '%s\tKaldi\t1\t%s\t%s\t%s\t-\t-\n' "$w" \
    "$(printf '%s\n' "${walls[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')" \
    "$(printf '%s\n' "${cpus[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')" \
    "${ll:-nan}" >> "$res"
}

# The peak first (the kernel set the models use is in its output).
peak=$("$em" peak 2>/dev/null || echo '{}')
best_kernels=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("kernels", "?"))' "$peak")
log "kernel set: $best_kernels (peak: $peak)"
cep_sets coursework --iters 5 "${cw_specs[@]}"
sk coursework --iters 5 "${cw_sk[@]}"
cw_k=(); for l in "${classes[@]}"; do cw_k+=("$tmp/cw/$l.json.kaldi=ark:$tmp/cw/$l.ark"); done
kaldi_run coursework full 5 "${cw_k[@]}"

cep_sets full64 "$tmp/full64.json=scp:$tmp/all.scp"
sk full64 "$tmp/full64.json=$tmp/all.ark"
kaldi_run full64 full 1 "$tmp/full64.json.kaldi=scp:$tmp/all.scp"

cep_sets diag64 "$tmp/diag64.json=scp:$tmp/all.scp"
sk diag64 "$tmp/diag64.json=$tmp/all.ark"
kaldi_run diag64 diag 1 "$tmp/diag64.json.kaldi=scp:$tmp/all.scp"

cep_sets diag64x10 --tile 10 "$tmp/diag64.json=scp:$tmp/all.scp"
sk diag64x10 --tile 10 "$tmp/diag64.json=$tmp/all.ark"
kaldi_run diag64x10 diag 1 "$tmp/diag64.json.kaldi=scp:$tmp/all10.scp"

# --- Table ------------------------------------------------------------------------------------------
load1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "GMM EM, one iteration = accumulate + estimate ($data; D=39; median of $reps runs after a warm-up)."
echo "Load average before / after: $load0 / $load1 on $nproc_all CPUs. Coursework: 11 classes × K=5 full × 5 iterations (whole run)."
python3 - "$res" "$nframes" "$ncw" "$nproc_all" "$peak" <<'EOF'
import json, sys
res, n, ncw, nproc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pk = json.loads(sys.argv[5])
D = 39
work = {  # name: (label, flops of the timed unit)
    "coursework": ("coursework K=5 full ×5 it", 5 * 4 * ncw * 5 * D * D),
    "full64": (f"K=64 full, {n} fr", 4 * n * 64 * D * D),
    "diag64": (f"K=64 diag, {n} fr", 4 * n * 64 * (2 * D + 1)),
    "diag64x10": (f"K=64 diag, {10 * n} fr", 4 * 10 * n * 64 * (2 * D + 1)),
}
rows = [l.rstrip("\n").split("\t") for l in open(res) if l.strip()]
nan = float("nan")
best = pk.get("kernels", "?")
def set_peak(kernels, cores):
    """The f64 FMA peak of a kernel set (the machine's best set for the other engines)."""
    key = {"avx512f": "avx512", "avx2+fma": "avx2"}.get(kernels if kernels not in ("-", "") else best)
    return pk.get(f"{key}_f64_{'1t' if cores == 1 else 'all'}", nan) if key else nan
hdr = ["workload", "engine", "kernels", "thr", "wall s", "CPU s", "GFLOP/s", "%peak", "×sklearn", "×Kaldi", "peak RSS", "LL/frame"]
out = [hdr]
for w, (label, flops) in work.items():
    rs = [r for r in rows if r[0] == w]
    ref = {r[1]: float(r[4]) for r in rs if r[1] != "cepstra"}
    for r in rs:
        eng, th, wall, cpu, ll, rss, ks = r[1], int(r[2]), float(r[3]), float(r[4]), float(r[5]), r[6], r[7]
        cores = min(th, nproc)
        gf = flops / cpu / 1e9 * (cpu / wall if th > 1 else 1.0) if cpu > 0 else float("nan")
        # GFLOP/s: one thread → on CPU time (robust to load); several → on wall time.
        row = [label, eng, ks, str(th), f"{wall:.4f}", f"{cpu:.4f}", f"{gf:.1f}", f"{100 * gf / set_peak(ks, cores):.0f}%"]
        base = cpu if th == 1 else wall
        for e in ("scikit-learn", "Kaldi"):
            row.append(f"{ref[e] / base:.2f}×" if eng == "cepstra" and e in ref else "")
        row.append(f"{int(rss) / 1024:.0f} MB" if rss not in ("-", "") else "")
        row.append("" if ll != ll else f"{ll:.4f}")
        out.append(row)
wid = [max(len(r[i]) for r in out) for i in range(len(hdr))]
for i, r in enumerate(out):
    print("  ".join(c.ljust(wid[j]) if j < 3 else c.rjust(wid[j]) for j, c in enumerate(r)))
    if i == 0:
        print("  ".join("-" * x for x in wid))
print("thr = threads (cepstra 'all' = rayon over the models and over fixed chunks of frames); speed-ups compare CPU seconds at 1 thread,")
print("wall seconds of the multi-thread run against the references' CPU seconds. GFLOP/s: the dense")
print("work of one iteration (full 4·N·K·D², diag 4·N·K·(2D+1)) per second, the same count for every engine;")
print("cepstra does less than that (its f32 E-step skips the zeros of triangular factors, its M-step the")
print("frames with posterior 0), so its figure can pass the peak. %peak = of the f64 FMA peak of the kernel set")
print("that ran (cepstra's 'kernels' column; the machine's best set for the other engines), measured in this run")
print("(em_bench peak, 12 chains): " + "; ".join(f"{k}: {set_peak(k, 1):.1f} GFLOP/s on 1 thread, {set_peak(k, nproc):.1f} on {nproc}"
      for k in ("avx512f", "avx2+fma") if set_peak(k, 1) == set_peak(k, 1)) + ".")
print("cepstra runs on 1 thread with the best set and, on an AVX-512 machine, again capped at AVX2+FMA")
print("(CEPSTRA_KERNELS=avx2): the speed-up a machine without AVX-512 would see.")
print("Kaldi = gmm-global-/fgmm-global-acc-stats + -est processes (reading the ark; single-threaded);")
print("its LL/frame is from its acc-stats log of the last pass (printed to 4 decimals). All engines run")
print("without floors (cepstra no_floors, scikit-learn reg_covar=0, Kaldi floors set to 0).")
EOF

# --- Memory: streaming vs holding the frames (acceptance 5) ---------------------------------------
echo
echo "cepstra gmm-train peak RSS (K=8 diag, 2 iterations, k-means init on the first 20000 frames):"
printf '%-34s %14s %14s\n' "" "$nframes fr" "$((10 * nframes)) fr"
for mode in "--stream=true --stream-init-frames=20000" "--stream=false"; do
  r=()
  for scp in all.scp all10.scp; do
    # shellcheck disable=SC2086
    /usr/bin/time -v -o "$tmp/time.txt" "$cepstra" gmm-train $mode --num-gauss=8 --covariance=diag --num-iters=2 \
      --kmeans-iters=5 scp:"$tmp/$scp" "$tmp/m.json" 2>/dev/null
    r+=("$(awk -F': ' '/Maximum resident set size/ { printf "%.0f MB", $2 / 1024 }' "$tmp/time.txt")")
  done
  printf '%-34s %14s %14s\n' "gmm-train ${mode%% *}" "${r[0]}" "${r[1]}"
done
