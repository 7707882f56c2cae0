//! `map_ordered`: the one parallel loop of the pipe-stage commands. Entries are read in order,
//! processed in parallel (rayon) in bounded batches, and written in input order.

use anyhow::{anyhow, Result};
use rayon::prelude::*;

use super::progress::Progress;

/// Counts reported at the end of a run.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    /// Entries processed successfully.
    pub done: usize,
    /// Entries seen.
    pub total: usize,
}

/// Reads `(key, input)` entries, maps them in parallel, and passes results to `sink` in input
/// order. At most `batch` entries are held in memory. With `permissive`, an entry whose read or
/// map fails is skipped with a warning (Kaldi's `p`); otherwise the first error stops the run.
pub fn map_ordered<I, O, E>(
    reader: impl Iterator<Item = std::result::Result<(String, I), E>>,
    permissive: bool,
    map: impl Fn(&str, I) -> Result<O> + Sync,
    mut sink: impl FnMut(&str, O) -> Result<()>,
) -> Result<Counts>
where
    I: Send,
    O: Send,
    E: std::error::Error + Send + Sync + 'static,
{
    let batch = 8 * rayon::current_num_threads().max(1);
    let mut counts = Counts::default();
    let mut progress = Progress::new("utterances");
    let mut reader = reader.peekable();
    while reader.peek().is_some() {
        let mut items = Vec::with_capacity(batch);
        for item in reader.by_ref().take(batch) {
            counts.total += 1;
            match item {
                Ok(kv) => items.push(kv),
                Err(e) if permissive => log::warn!("{e} (skipped)"),
                Err(e) => return Err(anyhow!(e)),
            }
        }
        let results: Vec<(String, Result<O>)> = items
            .into_par_iter()
            .map(|(k, i)| {
                let r = map(&k, i);
                (k, r)
            })
            .collect();
        for (k, r) in results {
            match r {
                Ok(o) => {
                    sink(&k, o)?;
                    counts.done += 1;
                }
                // The utterance is named once: errors that name it already are left as they are.
                Err(e) if permissive => log::warn!("{} (skipped)", name_utterance(&k, &e)),
                Err(e) if names_utterance(&k, &e) => return Err(e),
                Err(e) => return Err(e.context(format!("utterance {k}"))),
            }
            progress.inc(1);
        }
    }
    progress.finish();
    Ok(counts)
}

/// Whether the message of `e` names the utterance `key` already.
fn names_utterance(key: &str, e: &anyhow::Error) -> bool {
    super::render_error(e).contains(&format!("utterance {key}"))
}

/// `utterance K: error`, unless the error names the utterance already.
fn name_utterance(key: &str, e: &anyhow::Error) -> String {
    if names_utterance(key, e) {
        super::render_error(e)
    } else {
        format!("utterance {key}: {}", super::render_error(e))
    }
}
