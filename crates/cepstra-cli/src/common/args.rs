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

/// How deep `--config` files may include one another (Kaldi has no limit; a cycle overflowed the
/// stack before the cycle check, and no real setup nests this deep).
pub const MAX_CONFIG_DEPTH: usize = 16;

/// One option read from a config file, with the file and line it came from (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigOption {
    /// The option as written, `--name=value` (name not yet normalised).
    pub arg: String,
    /// The config file, as it was named.
    pub file: String,
    /// 1-based line number in `file`.
    pub line: usize,
}

impl ConfigOption {
    /// The option's long name, `_` read as `-`: `--use_energy=false` → `use-energy`.
    pub fn name(&self) -> String {
        option_name(&self.arg)
    }
}

/// The long name of `--name[=value]`, `_` read as `-`.
fn option_name(arg: &str) -> String {
    arg.trim_start_matches("--")
        .split(['=', ' ', '\t'])
        .next()
        .unwrap_or("")
        .replace('_', "-")
}

/// Reads a Kaldi config file: one `--name=value` per line, `#` comments, blank lines ignored,
/// `--config=FILE` lines included in place. Only the options, see [`read_config_options`].
pub fn read_config(path: &str) -> Result<Vec<String>> {
    Ok(read_config_options(path)?
        .into_iter()
        .map(|o| o.arg)
        .collect())
}

/// Reads a Kaldi config file with the file and line of every option. A file that includes itself,
/// directly or through others, is an error naming the chain; so is nesting deeper than
/// [`MAX_CONFIG_DEPTH`].
pub fn read_config_options(path: &str) -> Result<Vec<ConfigOption>> {
    let mut out = Vec::new();
    read_config_into(path, &mut Vec::new(), &mut out)?;
    Ok(out)
}

fn read_config_into(
    path: &str,
    stack: &mut Vec<(String, std::path::PathBuf)>,
    out: &mut Vec<ConfigOption>,
) -> Result<()> {
    let chain = |stack: &[(String, std::path::PathBuf)], last: &str| {
        stack
            .iter()
            .map(|(n, _)| n.as_str())
            .chain([last])
            .collect::<Vec<_>>()
            .join(" -> ")
    };
    let text = std::fs::read(path)
        .map_err(|e| anyhow::anyhow!("cannot read config file {path}: {}", io_reason(&e)))?;
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
    if stack.iter().any(|(_, c)| *c == canonical) {
        bail!(
            "config file {path} includes itself: {} (remove the --config line that closes the loop)",
            chain(stack, path)
        );
    }
    if stack.len() >= MAX_CONFIG_DEPTH {
        bail!(
            "config files nest deeper than {MAX_CONFIG_DEPTH}: {}",
            chain(stack, path)
        );
    }
    stack.push((path.to_string(), canonical));
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let Ok(raw) = std::str::from_utf8(raw) else {
            bail!("{path}:{}: not valid UTF-8", i + 1);
        };
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if !line.starts_with("--") {
            bail!("{path}:{}: expected --name=value, got '{raw}'", i + 1);
        }
        if option_name(line) == "config" {
            let inner = line
                .trim_start_matches("--config")
                .trim_start_matches(['=', ' ']);
            if inner.is_empty() {
                bail!("{path}:{}: --config needs a file name", i + 1);
            }
            read_config_into(inner, stack, out)
                .with_context(|| format!("in config file {path}, line {}", i + 1))?;
        } else {
            out.push(ConfigOption {
                arg: line.to_string(),
                file: path.to_string(),
                line: i + 1,
            });
        }
    }
    stack.pop();
    Ok(())
}

/// The reason of an I/O error without Rust's `(os error N)` suffix.
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A command line rewritten for clap, with the options that came from config files.
#[derive(Debug, Clone, Default)]
pub struct Preprocessed {
    /// What clap parses.
    pub argv: Vec<String>,
    /// Every option read from `--config` files, in order.
    pub config: Vec<ConfigOption>,
    /// Long names given on the command line itself (they override the config files).
    pub command_line: Vec<String>,
}

impl Preprocessed {
    /// A note naming the config file and line of each option mentioned in `message` (as
    /// `--name`) that came from a config file and was not given again on the command line.
    ///
    /// ```ignore
    /// // message "invalid value 'x' for '--dither <DITHER>'", --dither=x on line 3 of mfcc.conf
    /// assert_eq!(p.config_note(msg).unwrap(), "--dither was set in config file mfcc.conf, line 3");
    /// ```
    pub fn config_note(&self, message: &str) -> Option<String> {
        let mentioned = mentioned_options(message);
        let mut notes = Vec::new();
        for name in &mentioned {
            if self.command_line.contains(name) {
                continue;
            }
            // The last setting wins, as on a command line.
            if let Some(o) = self.config.iter().rev().find(|o| o.name() == *name) {
                let note = format!(
                    "--{name} was set in config file {}, line {} ('{}')",
                    o.file, o.line, o.arg
                );
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
        }
        (!notes.is_empty()).then(|| notes.join("; "))
    }
}

/// The `--long-name`s in a message.
fn mentioned_options(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(i) = rest.find("--") {
        let after = &rest[i + 2..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(after.len());
        let name = after[..end].trim_end_matches('-').replace('_', "-");
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
        rest = &after[end..];
    }
    out
}

fn normalise_name(arg: &str) -> String {
    // `--use_energy=false` → `--use-energy=false` (only the name part).
    match arg.split_once('=') {
        Some((name, value)) => format!("{}={value}", name.replace('_', "-")),
        None => arg.replace('_', "-"),
    }
}

/// Rewrites `argv` (program name first, subcommand second) into what clap parses.
pub fn preprocess(argv: Vec<String>, root: &clap::Command) -> Result<Preprocessed> {
    let unchanged = |argv: Vec<String>| Preprocessed {
        argv,
        ..Default::default()
    };
    if argv.len() < 2 {
        return Ok(unchanged(argv));
    }
    let sub_name = argv[1].clone();
    let Some(sub) = root.find_subcommand(&sub_name) else {
        return Ok(unchanged(argv));
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
            config.extend(read_config_options(f)?);
            i += 2;
            continue;
        }
        if let Some(f) = a.strip_prefix("--config=") {
            config.extend(read_config_options(f)?);
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
    let command_line = rest
        .iter()
        .take_while(|a| *a != "--")
        .filter(|a| a.starts_with("--"))
        .map(|a| option_name(a))
        .collect();
    let mut out = vec![argv[0].clone(), sub_name];
    out.extend(config.iter().map(|c| normalise_name(&c.arg)));
    out.extend(rest);
    Ok(Preprocessed {
        argv: out,
        config,
        command_line,
    })
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
        .unwrap()
        .argv;
        assert_eq!(
            out,
            v(&["c", "x", "--use-energy=false", "--dither", "0", "ark:-"])
        );
        let out = preprocess(v(&["c", "x", "--use-energy", "ark:-"]), &cmd())
            .unwrap()
            .argv;
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
        .unwrap()
        .argv;
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

    #[test]
    fn config_cycles_and_depth_are_errors_naming_the_files() {
        let d = tempfile::tempdir().unwrap();
        let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
        std::fs::write(
            p("r.conf"),
            format!("--dither=0\n--config={}\n", p("r.conf")),
        )
        .unwrap();
        let e = format!("{:#}", read_config_options(&p("r.conf")).unwrap_err());
        assert!(e.contains("includes itself"), "{e}");
        assert!(e.contains(&format!("{0} -> {0}", p("r.conf"))), "{e}");
        std::fs::write(p("a.conf"), format!("--config {}\n", p("b.conf"))).unwrap();
        std::fs::write(p("b.conf"), format!("\n--config={}\n", p("a.conf"))).unwrap();
        let e = format!("{:#}", read_config_options(&p("a.conf")).unwrap_err());
        assert!(
            e.contains(&format!(
                "{} -> {} -> {}",
                p("a.conf"),
                p("b.conf"),
                p("a.conf")
            )),
            "{e}"
        );
        assert!(
            e.contains(&format!("in config file {}, line 2", p("b.conf"))),
            "{e}"
        );
        // A chain without a cycle, deeper than the cap.
        for i in 0..=MAX_CONFIG_DEPTH {
            std::fs::write(
                p(&format!("{i}.conf")),
                format!("--config={}\n", p(&format!("{}.conf", i + 1))),
            )
            .unwrap();
        }
        std::fs::write(p(&format!("{}.conf", MAX_CONFIG_DEPTH + 1)), "--dither=1\n").unwrap();
        let e = format!("{:#}", read_config_options(&p("0.conf")).unwrap_err());
        assert!(e.contains("nest deeper than"), "{e}");
        // Within the cap it reads, with the innermost file and line.
        let o = read_config_options(&p("5.conf")).unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!(
            (o[0].file.as_str(), o[0].line),
            (p(&format!("{}.conf", MAX_CONFIG_DEPTH + 1)).as_str(), 1)
        );
    }

    #[test]
    fn config_note_names_file_and_line_unless_overridden() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("mfcc.conf");
        std::fs::write(&f, "# c\n--use-energy=false\n--dither=abc\n").unwrap();
        let f = f.to_str().unwrap();
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let p = preprocess(v(&["c", "x", &format!("--config={f}"), "ark:-"]), &cmd()).unwrap();
        let note = p
            .config_note("invalid value 'abc' for '--dither <dither>'")
            .unwrap();
        assert_eq!(
            note,
            format!("--dither was set in config file {f}, line 3 ('--dither=abc')")
        );
        assert!(p.config_note("no option here").is_none());
        let p = preprocess(
            v(&["c", "x", &format!("--config={f}"), "--dither=1", "ark:-"]),
            &cmd(),
        )
        .unwrap();
        assert!(p.config_note("bad '--dither'").is_none());
    }

    #[test]
    fn missing_config_file_names_it_once() {
        let e = format!(
            "{:#}",
            read_config_options("/nonexistent/x.conf").unwrap_err()
        );
        assert_eq!(
            e,
            "cannot read config file /nonexistent/x.conf: No such file or directory"
        );
    }
}
