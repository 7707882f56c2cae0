//! Progress on stderr: an indicatif spinner on a terminal, a log line every 10 s otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Progress of a long loop. Prints nothing for runs shorter than two seconds.
pub struct Progress {
    what: &'static str,
    bar: Option<indicatif::ProgressBar>,
    start: Instant,
    last_log: Instant,
    count: u64,
}

impl Progress {
    /// Starts counting `what` (e.g. "utterances").
    pub fn new(what: &'static str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {pos} {msg} ({per_sec}, {elapsed})",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b.set_message(what);
            b.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            b
        });
        let now = Instant::now();
        Progress {
            what,
            bar,
            start: now,
            last_log: now,
            count: 0,
        }
    }

    /// Adds `n` finished items.
    pub fn inc(&mut self, n: u64) {
        self.count += n;
        let elapsed = self.start.elapsed();
        if let Some(b) = &self.bar {
            if elapsed > Duration::from_secs(2) && b.is_hidden() {
                b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            b.set_position(self.count);
        } else if self.last_log.elapsed() > Duration::from_secs(10) {
            self.last_log = Instant::now();
            log::info!(
                "processed {} {} in {:.1} s",
                self.count,
                self.what,
                elapsed.as_secs_f64()
            );
        }
    }

    /// Clears the bar.
    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
