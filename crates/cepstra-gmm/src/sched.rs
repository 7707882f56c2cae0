//! The ordered chunk scheduler: fixed chunks of items run in parallel on rayon's pool, their
//! results handed over in chunk order, so any reduction over them is the same for any number of
//! threads. Used by the EM pass and by k-means.

use rayon::prelude::*;

use crate::error::Result;

/// Runs `f(lo, hi)` on fixed chunks [lo, hi) of `n` items in parallel (rayon), handing the
/// results to `consume` in chunk order: deterministic for any thread count.
pub(crate) fn par_chunks_ordered<R: Send>(
    n: usize,
    chunk: usize,
    f: impl Fn(usize, usize) -> Result<R> + Sync,
    mut consume: impl FnMut(R) -> Result<()>,
) -> Result<()> {
    let chunk = chunk.max(1);
    let nchunks = n.div_ceil(chunk);
    // Up to 8 chunks per thread in flight between two ordered hand-overs: enough to keep the
    // threads busy past the uneven ends of a window, few enough to bound the chunk outputs held.
    let window = (rayon::current_num_threads().max(1) * 8).max(1);
    let mut c0 = 0;
    while c0 < nchunks {
        let c1 = (c0 + window).min(nchunks);
        if c1 - c0 == 1 {
            // One chunk: run it here rather than hand it to a pool thread and wait.
            consume(f(c0 * chunk, (c1 * chunk).min(n))?)?;
            c0 = c1;
            continue;
        }
        let outs: Vec<Result<R>> = (c0..c1)
            .into_par_iter()
            .map(|c| f(c * chunk, ((c + 1) * chunk).min(n)))
            .collect();
        for o in outs {
            consume(o?)?;
        }
        c0 = c1;
    }
    Ok(())
}
