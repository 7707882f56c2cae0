//! Kaldi-style command lines on top of clap: `--config FILE` expansion (the command line wins),
//! `_` read as `-` in option names, and Kaldi's boolean forms (`--x`, `--x=true`, `--x false`).

use std::collections::HashSet;

use anyhow::{bail, Context, Result};

/// Long names of the options of `cmd` that take an optional boolean value (Kaldi bools).
fn bool_options(cmd: &clap::Command) -> HashSet<String> {
    cmd.get_arguments()
        .filter(|a| {
            a.get_num_args()
                .is_some_and(|r| r.min_values() == 0 && r.max_values() == 1)
        })
        .filter_map(|a| a.get_long().map(str::to_string))
        .collect()
}

/// Reads a Kaldi config file: one `--name=value` per line, `#` comments, blank lines ignored.
pub fn read_config(path: &str) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading config file {path}"))?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if !line.starts_with("--") {
            bail!("{path}:{}: expected --name=value, got '{raw}'", i + 1);
        }
        if line.starts_with("--config") {
            out.extend(read_config(
                line.trim_start_matches("--config")
                    .trim_start_matches(['=', ' ']),
            )?);
        } else {
            out.push(line.to_string());
        }
    }
    Ok(out)
}

fn normalise_name(arg: &str) -> String {
    // `--use_energy=false` → `--use-energy=false` (only the name part).
    match arg.split_once('=') {
        Some((name, value)) => format!("{}={value}", name.replace('_', "-")),
        None => arg.replace('_', "-"),
    }
}

/// Rewrites `argv` (program name first, subcommand second) into what clap parses.
pub fn preprocess(argv: Vec<String>, root: &clap::Command) -> Result<Vec<String>> {
    if argv.len() < 2 {
        return Ok(argv);
    }
    let sub_name = argv[1].clone();
    let Some(sub) = root.find_subcommand(&sub_name) else {
        return Ok(argv);
    };
    let bools = bool_options(sub);
    let mut config = Vec::new();
    let mut rest = Vec::new();
    let mut i = 2;
    let mut positional_only = false;
    while i < argv.len() {
        let a = &argv[i];
        if positional_only || !a.starts_with("--") || a == "--" {
            if a == "--" {
                positional_only = true;
            }
            rest.push(a.clone());
            i += 1;
            continue;
        }
        let a = normalise_name(a);
        if a == "--config" {
            let f = argv.get(i + 1).context("--config needs a file name")?;
            config.extend(read_config(f)?);
            i += 2;
            continue;
        }
        if let Some(f) = a.strip_prefix("--config=") {
            config.extend(read_config(f)?);
            i += 1;
            continue;
        }
        let name = a
            .trim_start_matches("--")
            .split('=')
            .next()
            .unwrap_or("")
            .to_string();
        if !a.contains('=') && bools.contains(&name) {
            match argv.get(i + 1).map(String::as_str) {
                Some(v @ ("true" | "false")) => {
                    rest.push(format!("{a}={v}"));
                    i += 2;
                }
                _ => {
                    rest.push(format!("{a}=true"));
                    i += 1;
                }
            }
            continue;
        }
        rest.push(a);
        i += 1;
    }
    let config: Vec<String> = config.into_iter().map(|c| normalise_name(&c)).collect();
    let mut out = vec![argv[0].clone(), sub_name];
    out.extend(config);
    out.extend(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};

    fn cmd() -> Command {
        Command::new("cepstra").subcommand(
            Command::new("x")
                .arg(
                    Arg::new("use-energy")
                        .long("use-energy")
                        .action(ArgAction::Set)
                        .num_args(0..=1)
                        .default_missing_value("true"),
                )
                .arg(Arg::new("dither").long("dither")),
        )
    }

    #[test]
    fn kaldi_forms() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let out = preprocess(
            v(&["c", "x", "--use_energy", "false", "--dither", "0", "ark:-"]),
            &cmd(),
        )
        .unwrap();
        assert_eq!(
            out,
            v(&["c", "x", "--use-energy=false", "--dither", "0", "ark:-"])
        );
        let out = preprocess(v(&["c", "x", "--use-energy", "ark:-"]), &cmd()).unwrap();
        assert_eq!(out, v(&["c", "x", "--use-energy=true", "ark:-"]));
    }

    #[test]
    fn config_comes_first() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("mfcc.conf");
        std::fs::write(
            &f,
            "# comment\n--use-energy=false\n--sample_frequency=8000\n",
        )
        .unwrap();
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let out = preprocess(
            v(&["c", "x", "--config", f.to_str().unwrap(), "--dither=0"]),
            &cmd(),
        )
        .unwrap();
        assert_eq!(
            out,
            v(&[
                "c",
                "x",
                "--use-energy=false",
                "--sample-frequency=8000",
                "--dither=0"
            ])
        );
    }
}
