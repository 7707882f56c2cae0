//! Timing harness for `scripts/bench_gmm.sh`: EM iterations (accumulate + estimate) of given models
//! on given features, one JSON line per run on stdout.
//!
//! ```text
//! em_bench init FEATS K full|diag MODEL_OUT [SUBSAMPLE]
//!     k-means initialisation (seed 0, 10 Lloyd iterations on every SUBSAMPLE-th frame, default 1);
//!     writes MODEL_OUT as JSON and MODEL_OUT.kaldi (Kaldi binary) for the other engines.
//! em_bench run [--threads N] [--iters I] [--reps R] [--tile T] MODEL=FEATS [MODEL=FEATS ...]
//!     loads every FEATS (tiled T times), then R times: from the given models, I EM iterations of
//!     every model on its features (after one untimed warm-up). Prints the wall and CPU seconds of
//!     each repetition, their medians, the average log-likelihood per frame of the last pass and
//!     the kernel set that ran (`KernelSet::best`; `CEPSTRA_KERNELS=avx2` etc. caps it).
//! em_bench peak
//!     measures this CPU's f64 FMA peak for each SIMD kernel set it has (AVX2+FMA, AVX-512F; one
//!     thread and all threads), as JSON, with the kernel set the models use.
//! em_bench synth FRAMES CLASSES WSPEC
//!     writes synthetic 39-dim features (16 clusters, seeded) as CLASSES utterances of about
//!     FRAMES/CLASSES frames each (when no corpus is available).
//! ```
//! Estimation uses `EstimateOptions::no_floors()` (no floors, no reg-covar: the arithmetic
//! scikit-learn does with `reg_covar=0`), so the log-likelihoods of both engines can be compared.

use std::time::Instant;

use cepstra_gmm::io::{read_model, write_model, ModelFormat};
use cepstra_gmm::{estimate, init_gmm, CovarianceType, EstimateOptions, FitOptions, Gmm, GmmStats};
use cepstra_io::table::SequentialReader;
use ndarray::{concatenate, Array2, Axis};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn load(spec: &str, tile: usize) -> Res<Array2<f32>> {
    let mut mats = Vec::new();
    for item in SequentialReader::<Array2<f32>>::open(spec)? {
        mats.push(item?.1);
    }
    let views: Vec<_> = mats.iter().map(|m| m.view()).collect();
    let one = concatenate(Axis(0), &views)?;
    let tiles: Vec<_> = (0..tile.max(1)).map(|_| one.view()).collect();
    Ok(concatenate(Axis(0), &tiles)?)
}

/// CPU seconds of all threads of this process (from /proc: nanosecond schedstat per thread).
fn cpu_seconds() -> f64 {
    let mut ns = 0u64;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for e in dir.flatten() {
            if let Ok(s) = std::fs::read_to_string(e.path().join("schedstat")) {
                ns += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    ns as f64 * 1e-9
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    if s.is_empty() {
        return f64::NAN;
    }
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        0.5 * (s[m - 1] + s[m])
    }
}

/// I iterations of every model (the models in parallel on rayon's pool, as `train-classes`
/// trains its classes); returns the average log-likelihood per frame of the last accumulation
/// pass of every model (pooled in model order).
fn iterate(pairs: &[(Gmm, Array2<f32>)], iters: usize, opts: &EstimateOptions) -> Res<f64> {
    use rayon::prelude::*;
    let one = |(g0, x): &(Gmm, Array2<f32>)| -> Result<(f64, f64), String> {
        let mut g = g0.clone();
        let mut last = (0.0, 0.0);
        for _ in 0..iters {
            let mut st = GmmStats::for_model(&g);
            st.accumulate(&g, x.view(), None)
                .map_err(|e| e.to_string())?;
            last = (st.total_loglike(), st.num_frames());
            g = estimate(&st, &g, opts).map_err(|e| e.to_string())?.0;
        }
        Ok(last)
    };
    let lasts: Vec<_> = pairs.par_iter().map(one).collect();
    let (mut ll, mut n) = (0.0, 0.0);
    for last in lasts {
        let (l, f) = last?;
        ll += l;
        n += f;
    }
    Ok(ll / f64::max(n, 1.0))
}

/// Measured f64 FMA peak of this CPU in GFLOP/s for each SIMD kernel set it supports: 12
/// independent chains of FMAs (AVX2: 4 lanes, 8 flops each; AVX-512: 8 lanes, 16 flops) for a
/// fixed count, on one thread and on every thread at once (best of 3).
fn peak(_args: &[String]) -> Res<()> {
    #[cfg(target_arch = "x86_64")]
    {
        use cepstra_gmm::KernelSet;
        #[target_feature(enable = "avx2,fma")]
        fn chains_avx2(n: u64) -> f64 {
            use std::arch::x86_64::*;
            let mut m = _mm256_set1_pd(0.999_999_9);
            let c = _mm256_set1_pd(1e-9);
            let mut a = [_mm256_set1_pd(1.0); 12];
            for _ in 0..n {
                for v in a.iter_mut() {
                    *v = _mm256_fmadd_pd(*v, m, c);
                }
                // An empty asm on m: the compiler can neither hoist nor fold the chains.
                // SAFETY: the asm does nothing.
                unsafe { std::arch::asm!("/* {0} */", inout(ymm_reg) m, options(nomem, nostack)) };
            }
            let mut out = [0.0f64; 4];
            // SAFETY: out holds 4 doubles.
            unsafe { _mm256_storeu_pd(out.as_mut_ptr(), a[0]) };
            out[0]
        }
        #[target_feature(enable = "avx512f")]
        fn chains_avx512(n: u64) -> f64 {
            use std::arch::x86_64::*;
            let mut m = _mm512_set1_pd(0.999_999_9);
            let c = _mm512_set1_pd(1e-9);
            let mut a = [_mm512_set1_pd(1.0); 12];
            for _ in 0..n {
                for v in a.iter_mut() {
                    *v = _mm512_fmadd_pd(*v, m, c);
                }
                // SAFETY: the asm does nothing.
                unsafe { std::arch::asm!("/* {0} */", inout(zmm_reg) m, options(nomem, nostack)) };
            }
            let mut out = [0.0f64; 8];
            // SAFETY: out holds 8 doubles.
            unsafe { _mm512_storeu_pd(out.as_mut_ptr(), a[0]) };
            out[0]
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut fields = Vec::new();
        for (set, name, flops) in [
            (KernelSet::Avx2Fma, "avx2", 8.0),
            (KernelSet::Avx512, "avx512", 16.0),
        ] {
            if !set.is_supported() {
                eprintln!("em_bench peak: this CPU lacks {set}: no {name} peak");
                continue;
            }
            let run = |n: u64| {
                let t0 = Instant::now();
                // SAFETY: the CPU supports the set (checked above): AVX2+FMA resp. AVX-512F.
                let v = unsafe {
                    if set == KernelSet::Avx512 {
                        chains_avx512(n)
                    } else {
                        chains_avx2(n)
                    }
                };
                std::hint::black_box(v);
                n as f64 * 12.0 * flops / t0.elapsed().as_secs_f64() / 1e9
            };
            run(10_000_000); // warm-up (clock ramp)
            let one = (0..3).map(|_| run(50_000_000)).fold(0.0, f64::max);
            let all: f64 = (0..3)
                .map(|_| {
                    std::thread::scope(|s| {
                        let hs: Vec<_> =
                            (0..threads).map(|_| s.spawn(|| run(50_000_000))).collect();
                        hs.into_iter().map(|h| h.join().unwrap_or(0.0)).sum::<f64>()
                    })
                })
                .fold(0.0, f64::max);
            fields.push(format!(
                "\"{name}_f64_1t\":{one:.1},\"{name}_f64_all\":{all:.1}"
            ));
        }
        println!(
            "{{{},\"threads\":{threads},\"kernels\":\"{}\"}}",
            fields.join(","),
            KernelSet::best()
        );
        Ok(())
    }
    #[cfg(not(target_arch = "x86_64"))]
    Err("peak: x86-64 only".into())
}

fn run(args: &[String]) -> Res<()> {
    let (mut threads, mut iters, mut reps, mut tile) = (0usize, 1usize, 5usize, 1usize);
    let mut specs = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || -> Res<usize> {
            Ok(it
                .next()
                .ok_or_else(|| format!("{a} needs a value"))?
                .parse()?)
        };
        match a.as_str() {
            "--threads" => threads = val()?,
            "--iters" => iters = val()?,
            "--reps" => reps = val()?,
            "--tile" => tile = val()?,
            s => specs.push(s.to_string()),
        }
    }
    if threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()?;
    }
    let mut pairs = Vec::new();
    let mut frames = 0;
    for s in &specs {
        let (m, f) = s
            .split_once('=')
            .ok_or_else(|| format!("expected MODEL=FEATS, got {s}"))?;
        let x = load(f, tile)?;
        frames += x.nrows();
        pairs.push((read_model(m)?, x));
    }
    let opts = EstimateOptions::no_floors();
    iterate(&pairs, 1, &opts)?; // warm-up
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    let mut ll = 0.0;
    for _ in 0..reps {
        let (t0, c0) = (Instant::now(), cpu_seconds());
        ll = iterate(&pairs, iters, &opts)?;
        wall.push(t0.elapsed().as_secs_f64());
        cpu.push(cpu_seconds() - c0);
    }
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.5}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    println!(
        "{{\"kernels\":\"{}\",\"threads\":{},\"models\":{},\"frames\":{frames},\"iters\":{iters},\"wall\":[{}],\"cpu\":[{}],\"wall_median\":{:.5},\"cpu_median\":{:.5},\"loglike\":{ll:.6}}}",
        cepstra_gmm::KernelSet::best(),
        rayon::current_num_threads(),
        pairs.len(),
        fmt(&wall),
        fmt(&cpu),
        median(&wall),
        median(&cpu)
    );
    Ok(())
}

fn init(args: &[String]) -> Res<()> {
    if args.len() < 4 {
        return Err("usage: em_bench init FEATS K full|diag MODEL_OUT [SUBSAMPLE]".into());
    }
    let x = load(&args[0], 1)?;
    let sub = args
        .get(4)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1usize);
    let xs = x.slice(ndarray::s![..;sub.max(1) as isize, ..]);
    let opts = FitOptions {
        num_gauss: args[1].parse()?,
        covariance: if args[2] == "diag" {
            CovarianceType::Diag
        } else {
            CovarianceType::Full
        },
        kmeans_iters: 10,
        ..Default::default()
    };
    let g = init_gmm(xs, &opts, 0)?;
    write_model(&g, &args[3], ModelFormat::Json)?;
    write_model(&g, &format!("{}.kaldi", args[3]), ModelFormat::KaldiBinary)?;
    Ok(())
}

fn synth(args: &[String]) -> Res<()> {
    use rand::{Rng, SeedableRng};
    if args.len() < 3 {
        return Err("usage: em_bench synth FRAMES CLASSES WSPEC".into());
    }
    let (n, classes): (usize, usize) = (args[0].parse()?, args[1].parse()?);
    let d = 39;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let centres: Vec<Vec<f32>> = (0..16)
        .map(|_| (0..d).map(|_| rng.random::<f32>() * 10.0).collect())
        .collect();
    let mut w = cepstra_io::table::Writer::<Array2<f32>>::open(&args[2])?;
    let per = n.div_ceil(classes.max(1));
    let mut done = 0;
    for c in 0..classes {
        let m = per.min(n - done);
        let x = Array2::from_shape_fn((m, d), |(i, j)| {
            centres[((done + i) * 7) % 16][j] + rng.random::<f32>() * 2.0 - 1.0
        });
        w.write(&format!("synth{c:04}"), &x)?;
        done += m;
    }
    w.commit()?;
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("init") => init(&args[1..]),
        Some("run") => run(&args[1..]),
        Some("synth") => synth(&args[1..]),
        Some("peak") => peak(&args[1..]),
        _ => Err("usage: em_bench init|run|synth|peak ... (see the file's doc comment)".into()),
    }
}
