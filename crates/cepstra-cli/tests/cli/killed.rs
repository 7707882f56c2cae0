//! A writer killed mid-run (issue 9 §3): after SIGTERM or SIGKILL the destination holds the old
//! file, never a part of the new one; SIGTERM leaves no temporary file, and after SIGKILL the
//! next run of the same output removes the dead process's temporary file.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use ndarray::Array2;

use crate::util::{cepstra, write_table};

fn temps(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    v.sort();
    v
}

/// `copy-feats ark:- ark:out.ark` in `d`, its stdin a pipe.
fn copy_feats(d: &Path) -> Child {
    cepstra()
        .current_dir(d)
        .args(["copy-feats", "ark:-", "ark:out.ark"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Starts `copy-feats ark:- ark:out.ark`, feeds it the first half of `input`, and waits until its
/// temporary output holds data: the writer is then mid-run, waiting for the rest of its input.
fn half_written(d: &Path, input: &[u8]) -> (Child, std::process::ChildStdin) {
    let mut child = copy_feats(d);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&input[..input.len() / 2]).unwrap();
    stdin.flush().unwrap();
    let started = Instant::now();
    loop {
        let size: u64 = temps(d)
            .iter()
            .map(|t| std::fs::metadata(d.join(t)).map_or(0, |m| m.len()))
            .sum();
        if size > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the writer never started writing"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    (child, stdin)
}

fn kill(child: &mut Child, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {signal}");
    child.wait().unwrap();
}

#[test]
fn killed_writers_leave_the_old_file_and_no_temporary_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 4 MB of features, more than any write buffer.
    let entries: Vec<(String, Array2<f32>)> = (0..100)
        .map(|i| (format!("u{i:03}"), Array2::from_elem((250, 40), i as f32)))
        .collect();
    let refs: Vec<(&str, Array2<f32>)> = entries
        .iter()
        .map(|(k, m)| (k.as_str(), m.clone()))
        .collect();
    write_table(&format!("ark:{}", d.join("in.ark").display()), &refs);
    let input = std::fs::read(d.join("in.ark")).unwrap();

    for signal in ["-TERM", "-KILL"] {
        std::fs::write(d.join("out.ark"), "old").unwrap();
        let (mut child, stdin) = half_written(d, &input);
        kill(&mut child, signal);
        drop(stdin);
        assert_eq!(
            std::fs::read(d.join("out.ark")).unwrap(),
            b"old",
            "{signal}: destination changed"
        );
        if signal == "-TERM" {
            assert_eq!(
                temps(d),
                Vec::<String>::new(),
                "SIGTERM left temporary files"
            );
        } else {
            assert_eq!(
                temps(d).len(),
                1,
                "SIGKILL cannot clean up: one temporary file expected"
            );
        }
        // A complete second run: the new file whole, and no temporary file of anybody left.
        let mut child = copy_feats(d);
        child.stdin.take().unwrap().write_all(&input).unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(
            std::fs::read(d.join("out.ark")).unwrap(),
            input,
            "{signal}: second run"
        );
        assert_eq!(
            temps(d),
            Vec::<String>::new(),
            "{signal}: temporary files after the second run"
        );
    }
}
