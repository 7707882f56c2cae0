//! Flat start (equal segmentation, as Kaldi's `align-equal` and HTK's HInit uniform
//! segmentation) and Viterbi occupancies (segmental k-means statistics).

use cepstra_gmm::{init_gmm, FitOptions};
use ndarray::{concatenate, Array2, ArrayView2, Axis};

use crate::algo::{Emissions, Posteriors};
use crate::error::{Error, Result};
use crate::model::{Hmm, Topology};

/// The state (0-based) of each of `num_frames` frames cut into `num_states` equal segments:
/// frame t → ⌊t·S/T⌋. Needs T ≥ S.
pub fn equal_segments(num_frames: usize, num_states: usize) -> Vec<usize> {
    (0..num_frames)
        .map(|t| t * num_states / num_frames.max(1))
        .collect()
}

/// A flat-start HMM: every utterance of at least `num_states` frames cut into equal segments,
/// each state's GMM initialised from its frames by cepstra-gmm's initialisation (`fit.init`,
/// k-means by default, `fit.num_gauss` components, seed `fit.seed` + state). Returns the model
/// and the ids of the utterances skipped as too short.
pub fn flat_start(
    utts: &[(String, ArrayView2<'_, f32>)],
    num_states: usize,
    fit: &FitOptions,
    topology: Topology,
    self_loop: f64,
    allow_any_end: bool,
) -> Result<(Hmm, Vec<String>)> {
    if num_states == 0 {
        return Err(Error::InvalidModel(
            "--num-states must be at least 1".into(),
        ));
    }
    let mut per_state: Vec<Vec<ArrayView2<'_, f32>>> = vec![Vec::new(); num_states];
    let mut skipped = Vec::new();
    for (id, x) in utts {
        let t = x.nrows();
        if t < num_states {
            skipped.push(id.clone());
            continue;
        }
        let seg = equal_segments(t, num_states);
        let mut start = 0;
        for (s, parts) in per_state.iter_mut().enumerate() {
            let end = seg.iter().rposition(|&v| v == s).map_or(start, |p| p + 1);
            parts.push(x.slice(ndarray::s![start..end, ..]));
            start = end;
        }
    }
    let mut states = Vec::with_capacity(num_states);
    for (s, parts) in per_state.iter().enumerate() {
        if parts.is_empty() {
            return Err(Error::InvalidModel(format!(
                "no utterance has {num_states} frames or more: lower --num-states"
            )));
        }
        let frames: Array2<f32> =
            concatenate(Axis(0), parts).map_err(|e| Error::InvalidModel(e.to_string()))?;
        states.push(init_gmm(
            frames.view(),
            fit,
            fit.seed.wrapping_add(s as u64),
        )?);
    }
    Ok((
        Hmm::left_to_right(states, topology, self_loop, allow_any_end)?,
        skipped,
    ))
}

impl Hmm {
    /// The occupancies of the best path (0/1 per state, component posteriors within the state,
    /// transition counts along the path): Viterbi training's statistics. `None` when no path
    /// explains the utterance.
    pub fn viterbi_posteriors(&self, em: &Emissions) -> Option<Posteriors> {
        let path = self.viterbi(em);
        if path.states.is_empty() {
            return None;
        }
        let (t_len, s) = em.state.dim();
        let mut state_occ = Array2::zeros((t_len, s));
        let mut comp_occ = Array2::zeros((t_len, em.comp.ncols()));
        let mut tc = Array2::zeros((s + 2, s + 2));
        for (t, &j) in path.states.iter().enumerate() {
            state_occ[[t, j]] = 1.0;
            for c in self.offsets[j]..self.offsets[j + 1] {
                comp_occ[[t, c]] = em.resp[[t, c]];
            }
            let from = if t == 0 { 0 } else { path.states[t - 1] + 1 };
            tc[[from, j + 1]] += 1.0;
        }
        if !self.allow_any_end {
            tc[[path.states[t_len - 1] + 1, s + 1]] += 1.0;
        }
        Some(Posteriors {
            total: path.score,
            state_occ,
            comp_occ,
            trans_counts: tc,
        })
    }
}
