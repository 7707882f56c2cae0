//! Output destinations (issue 9 §1): a FIFO, a symbolic link and a character device given as the
//! output of a subcommand are written through, never replaced, and receive the same bytes as a
//! regular file would; `-` is stdout for every output and stdin for inputs.

use std::io::Write;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::Stdio;

use crate::util::{cepstra, char_device, ok, run, small_corpus};

/// One subcommand with one output argument: `args(out)` puts `out` in its place; `table` says
/// the output is a table wspecifier (`ark:OUT`, and `ark:-` for stdout).
struct Cmd {
    name: &'static str,
    table: bool,
    args: fn(&str) -> Vec<String>,
}

fn v(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

const CMDS: &[Cmd] = &[
    Cmd {
        name: "copy-feats",
        table: true,
        args: |o| v(&["copy-feats", "ark:f.ark", o]),
    },
    Cmd {
        name: "compute-mfcc-feats",
        table: true,
        args: |o| {
            v(&[
                "compute-mfcc-feats",
                "--sample-frequency=8000",
                "--dither=0",
                "scp:wav.scp",
                o,
            ])
        },
    },
    Cmd {
        name: "add-deltas",
        table: true,
        args: |o| v(&["add-deltas", "ark:f.ark", o]),
    },
    Cmd {
        name: "gmm-init",
        table: false,
        args: |o| {
            v(&[
                "gmm-init",
                "--num-gauss=2",
                "--min-gaussian-occupancy=1",
                "ark:f.ark",
                o,
            ])
        },
    },
    Cmd {
        name: "gmm-copy",
        table: false,
        args: |o| v(&["gmm-copy", "m.json", o]),
    },
    Cmd {
        name: "gmm-acc-stats",
        table: false,
        args: |o| v(&["gmm-acc-stats", "m.json", "ark:f.ark", o]),
    },
    Cmd {
        name: "kmeans",
        table: false,
        args: |o| v(&["kmeans", "--num-clusters=2", "ark:f.ark", o]),
    },
    Cmd {
        name: "feat-to-dim",
        table: false,
        args: |o| v(&["feat-to-dim", "ark:f.ark", o]),
    },
    Cmd {
        name: "train-classes",
        table: false,
        args: |o| {
            v(&[
                "train-classes",
                "--num-gauss=1",
                "--min-gaussian-occupancy=1",
                "ark:f.ark",
                "text",
                o,
            ])
        },
    },
    Cmd {
        name: "classify (hypotheses)",
        table: false,
        args: |o| v(&["classify", "models.json", "ark:f.ark", "scores.tsv", o]),
    },
    Cmd {
        name: "classify (scores)",
        table: false,
        args: |o| v(&["classify", "models.json", "ark:f.ark", o, "hyp.txt"]),
    },
    Cmd {
        name: "compute-accuracy --acc-out",
        table: false,
        args: |o| {
            v(&[
                "compute-accuracy",
                &format!("--acc-out={o}"),
                "text",
                "hyp.txt",
            ])
        },
    },
];

/// The small corpus, a model set and its hypotheses in `d`.
fn setup(d: &Path) {
    small_corpus(d);
    ok(
        d,
        &[
            "train-classes",
            "--num-gauss=1",
            "--min-gaussian-occupancy=1",
            "ark:f.ark",
            "text",
            "models.json",
        ],
    );
    ok(
        d,
        &[
            "classify",
            "models.json",
            "ark:f.ark",
            "scores.tsv",
            "hyp.txt",
        ],
    );
}

fn spec(cmd: &Cmd, path: &Path) -> String {
    let p = path.to_str().unwrap();
    if cmd.table {
        format!("ark:{p}")
    } else {
        p.to_string()
    }
}

fn run_ok(d: &Path, args: &[String]) -> Result<Vec<u8>, String> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(d, &a);
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Runs `args` writing into the FIFO at `fifo`, read by a thread; the bytes it read.
fn through_fifo(d: &Path, args: &[String], fifo: &Path) -> Result<Vec<u8>, String> {
    let reader = {
        let fifo = fifo.to_path_buf();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let result = run_ok(d, args);
    // If the command never opened the FIFO, open it ourselves so that the reader sees EOF.
    {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc_o_nonblock())
            .open(fifo);
    }
    let bytes = reader.join().unwrap();
    result.map(|_| bytes)
}

/// `O_NONBLOCK` on Linux.
fn libc_o_nonblock() -> i32 {
    0o4000
}

/// Every destination kind for one command; the problems found.
fn check(cmd: &Cmd) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let mut problems = Vec::new();
    let mut fail = |what: &str, why: String| problems.push(format!("{} → {what}: {why}", cmd.name));
    let reference = d.join("reference.out");
    if let Err(e) = run_ok(d, &(cmd.args)(&spec(cmd, &reference))) {
        return vec![e];
    }
    let want = std::fs::read(&reference).unwrap();
    if want.is_empty() {
        fail("regular file", "wrote nothing".into());
    }

    // A FIFO: still a FIFO, and its reader got the bytes.
    let fifo = d.join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    match through_fifo(d, &(cmd.args)(&spec(cmd, &fifo)), &fifo) {
        Ok(got) if got == want => {}
        Ok(got) => fail(
            "fifo",
            format!("reader got {} bytes, expected {}", got.len(), want.len()),
        ),
        Err(e) => fail("fifo", e),
    }
    if !std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo()
    {
        fail("fifo", "was replaced".into());
    }

    // A symbolic link: still a link, its target holds the bytes.
    let target = d.join("target.out");
    std::fs::write(&target, "old").unwrap();
    let link = d.join("link.out");
    std::os::unix::fs::symlink("target.out", &link).unwrap();
    match run_ok(d, &(cmd.args)(&spec(cmd, &link))) {
        Ok(_) => {
            if !std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
            {
                fail("symlink", "the link was replaced by a file".into());
            }
            if std::fs::read(&target).unwrap() != want {
                fail("symlink", "the target does not hold the output".into());
            }
        }
        Err(e) => fail("symlink", e),
    }

    // A character device: still a device.
    let dev = char_device(d);
    match run_ok(d, &(cmd.args)(&spec(cmd, &dev))) {
        Ok(_)
            if std::fs::metadata(&dev)
                .unwrap()
                .file_type()
                .is_char_device() => {}
        Ok(_) => fail("char device", "was replaced".into()),
        Err(e) => fail("char device", e),
    }

    // `-`: stdout carries exactly the bytes.
    let dash = if cmd.table { "ark:-" } else { "-" };
    match run_ok(d, &(cmd.args)(dash)) {
        Ok(got) if got == want => {}
        Ok(got) => fail(
            "-",
            format!("stdout has {} bytes, expected {}", got.len(), want.len()),
        ),
        Err(e) => fail("-", e),
    }
    if d.join("-").exists() {
        fail("-", "created a file named '-'".into());
    }
    let left: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    if !left.is_empty() {
        fail("temp files", format!("{left:?}"));
    }
    problems
}

#[test]
fn outputs_are_written_through_never_replaced() {
    let mut failures = Vec::new();
    for cmd in CMDS {
        failures.extend(check(cmd));
    }
    // Five destinations per command: file, FIFO, symlink, device, '-'.
    let total = CMDS.len() * 5;
    eprintln!(
        "output cases: {} passed, {} failed",
        total - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs with `stdin` fed from a file; stdout.
fn with_stdin(d: &Path, args: &[&str], stdin: &Path) -> Vec<u8> {
    let mut child = cepstra()
        .current_dir(d)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(stdin).unwrap();
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn dash_is_stdin_for_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    // classify M ark:- s.tsv -: features on stdin, hypotheses on stdout.
    let hyp = with_stdin(
        d,
        &["classify", "models.json", "ark:-", "s.tsv", "-"],
        &d.join("f.ark"),
    );
    assert_eq!(hyp, std::fs::read(d.join("hyp.txt")).unwrap());
    assert!(!d.join("-").exists());
    assert_eq!(
        std::fs::read(d.join("s.tsv")).unwrap(),
        std::fs::read(d.join("scores.tsv")).unwrap()
    );
    // A model on stdin.
    let info = with_stdin(d, &["gmm-info", "-"], &d.join("m.json"));
    assert_eq!(info, ok(d, &["gmm-info", "m.json"]).into_bytes());
    let acc = with_stdin(
        d,
        &["gmm-acc-stats", "-", "ark:f.ark", "-"],
        &d.join("m.json"),
    );
    ok(d, &["gmm-acc-stats", "m.json", "ark:f.ark", "ref.acc"]);
    assert_eq!(acc, std::fs::read(d.join("ref.acc")).unwrap());
    // Hypotheses on stdin.
    let a = with_stdin(
        d,
        &["compute-accuracy", "--acc-out=-", "text", "-"],
        &d.join("hyp.txt"),
    );
    ok(
        d,
        &["compute-accuracy", "--acc-out=acc.txt", "text", "hyp.txt"],
    );
    assert_eq!(a, std::fs::read(d.join("acc.txt")).unwrap());
    // Features through a pipe stage: ark:- in and out.
    let copied = with_stdin(d, &["copy-feats", "ark:-", "ark:-"], &d.join("f.ark"));
    assert_eq!(copied, std::fs::read(d.join("f.ark")).unwrap());
}
