//! Every size option at its extremes (issue 9 §2): under a 384 MB address-space limit (256 MB
//! beyond what these tiny inputs need) and a 20 s timeout, no value may abort, overflow, panic
//! or run on: each run ends with 0 (accepted), 1 (rejected, with a message) or 2 (a usage error).

use std::path::Path;

/// `(subcommand and its other arguments, the options to push to their extremes)`; `OPT` in the
/// arguments is where the option goes.
type Target = (&'static [&'static str], &'static [&'static str]);

const INTEGER: &[&str] = &["0", "1", "4294967295", "18446744073709551615"];
const REAL: &[&str] = &["0", "-1", "1e-30", "1e30", "inf", "nan"];

const INTEGER_OPTIONS: &[Target] = &[
    (
        &[
            "compute-mfcc-feats",
            "--sample-frequency=8000",
            "OPT",
            "scp:wav.scp",
            "ark:/dev/null",
        ],
        &["--num-mel-bins", "--num-ceps", "--channel"],
    ),
    (
        &[
            "compute-fbank-feats",
            "--sample-frequency=8000",
            "OPT",
            "scp:wav.scp",
            "ark:/dev/null",
        ],
        &["--num-mel-bins"],
    ),
    (
        &["add-deltas", "OPT", "ark:f.ark", "ark:/dev/null"],
        &["--delta-order", "--delta-window"],
    ),
    (
        &["gmm-init", "OPT", "ark:f.ark", "out.json"],
        &["--num-gauss"],
    ),
    (
        &["kmeans", "OPT", "ark:f.ark", "c.txt"],
        &["--num-clusters", "--max-iters"],
    ),
    (
        &[
            "gmm-train",
            "--min-gaussian-occupancy=1",
            "--num-gauss=2",
            "OPT",
            "ark:f.ark",
            "out.json",
        ],
        &["--num-gauss", "--num-iters", "--n-init", "--kmeans-iters"],
    ),
    (
        &[
            "gmm-global-init-from-feats",
            "--num-gauss=2",
            "--num-gauss-init=1",
            "OPT",
            "ark:f.ark",
            "out.mdl",
        ],
        &[
            "--num-gauss",
            "--num-gauss-init",
            "--num-iters",
            "--num-frames",
        ],
    ),
    (
        &["gmm-est", "OPT", "m.json", "m.acc", "out.json"],
        &["--mix-up"],
    ),
    (
        &[
            "train-classes",
            "--min-gaussian-occupancy=1",
            "--num-gauss=1",
            "OPT",
            "ark:f.ark",
            "text",
            "models.json",
        ],
        &["--num-gauss", "--num-iters"],
    ),
    (
        &[
            "train-hmms",
            "--num-states=2",
            "--num-gauss=1",
            "--num-iters=2",
            "OPT",
            "ark:f.ark",
            "text",
            "hmms.json",
        ],
        &["--num-states", "--num-gauss", "--num-iters"],
    ),
];

const REAL_OPTIONS: &[Target] = &[
    (
        &[
            "compute-mfcc-feats",
            "--sample-frequency=8000",
            "OPT",
            "scp:wav.scp",
            "ark:/dev/null",
        ],
        &[
            "--frame-length",
            "--frame-shift",
            "--sample-frequency",
            "--low-freq",
            "--high-freq",
            "--dither",
            "--preemphasis-coefficient",
            "--cepstral-lifter",
            "--energy-floor",
            "--min-duration",
        ],
    ),
    (
        &[
            "gmm-train",
            "--min-gaussian-occupancy=1",
            "--num-gauss=2",
            "OPT",
            "ark:f.ark",
            "out.json",
        ],
        &[
            "--tol",
            "--reg-covar",
            "--var-floor",
            "--rel-var-floor",
            "--min-gaussian-occupancy",
        ],
    ),
    (
        &["gmm-est", "OPT", "m.json", "m.acc", "out.json"],
        &["--min-gaussian-weight", "--perturb-factor"],
    ),
];

fn setup(d: &Path) {
    crate::util::small_corpus(d);
    crate::util::ok(d, &["gmm-acc-stats", "m.json", "ark:f.ark", "m.acc"]);
}

/// Runs one command line under the limits; a problem, if any.
fn run_limited(d: &Path, args: &[String]) -> Option<String> {
    let started = std::time::Instant::now();
    let out = std::process::Command::new("timeout")
        .args([
            "-s",
            "KILL",
            "20",
            "sh",
            "-c",
            "ulimit -v 393216 && exec \"$@\"",
            "sh",
        ])
        .arg(env!("CARGO_BIN_EXE_cepstra"))
        .args(args)
        .current_dir(d)
        .output()
        .expect("spawn timeout/sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let secs = started.elapsed().as_secs_f64();
    let problem = match out.status.code() {
        Some(0..=2) if stderr.contains("panicked") => Some("panicked".to_string()),
        Some(0..=2) if stderr.contains("memory allocation") => Some("allocation failure".into()),
        Some(0..=2) => None,
        Some(c) => Some(format!("exit status {c}")),
        None => Some(format!(
            "killed by a signal after {secs:.1} s (timeout or abort)"
        )),
    };
    problem.map(|p| {
        let last = stderr.lines().last().unwrap_or("");
        format!("{args:?}: {p}; last stderr line: {last}")
    })
}

#[test]
fn size_options_at_their_extremes_end_cleanly_within_limits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let mut failures = Vec::new();
    let mut total = 0;
    for (targets, values) in [(INTEGER_OPTIONS, INTEGER), (REAL_OPTIONS, REAL)] {
        for (cmd, options) in targets {
            for option in *options {
                for value in values {
                    let args: Vec<String> = cmd
                        .iter()
                        .map(|a| match *a {
                            "OPT" => format!("{option}={value}"),
                            a => a.to_string(),
                        })
                        .collect();
                    total += 1;
                    failures.extend(run_limited(d, &args));
                }
            }
        }
    }
    eprintln!(
        "extreme option values: {} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
