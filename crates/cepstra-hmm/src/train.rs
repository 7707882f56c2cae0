//! Flat start (equal segmentation, as Kaldi's `align-equal` and HTK's HInit uniform
//! segmentation) and Viterbi occupancies (segmental k-means statistics).

use cepstra_gmm::{init_gmm, FitOptions};
use ndarray::{concatenate, Array2, ArrayView2, Axis};

use crate::algo::{Emissions, Posteriors};
use crate::error::{AlignmentFault, Error, Result};
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
        Some(self.occupancies_of_path(em, &path.states, path.score))
    }

    /// The occupancies of a given state sequence (an alignment, Kaldi's `gmm-acc-stats-ali`):
    /// occupancy 1 for the aligned state of each frame, the component posteriors within that
    /// state under this model, the transition counts along the path (entry → first state, and
    /// last state → exit unless the model may end anywhere), and ln p(X, path) as the total.
    /// For the best path these are [`Hmm::viterbi_posteriors`]' statistics, bit for bit.
    ///
    /// `states` holds the 0-based emitting state of each frame of `em`. An error says what is
    /// wrong with it: its length, a state out of range, a first state the entry does not lead
    /// to, a transition of probability 0, a last state from which the model cannot end, or a
    /// path of likelihood 0.
    ///
    /// ```
    /// use cepstra_gmm::{DiagGmm, Gmm};
    /// use cepstra_hmm::{AlignmentFault, Hmm, Topology};
    /// use ndarray::{array, Array2};
    /// let g = |m: f64| Gmm::from(DiagGmm::new(array![1.0], array![[m]], array![[1.0]]).unwrap());
    /// let hmm = Hmm::left_to_right(vec![g(0.0), g(5.0)], Topology::Linear, 0.5, false)?;
    /// let x = Array2::from_shape_fn((4, 1), |(t, _)| if t < 2 { 0.0f32 } else { 5.0 });
    /// let em = hmm.emissions(x.view())?;
    /// let post = hmm.path_posteriors(&em, &[0, 0, 1, 1]).unwrap();
    /// assert_eq!(post.state_occ.column(1).sum(), 2.0);
    /// assert_eq!(post.trans_counts[[1, 2]], 1.0); // state 0 → state 1 once
    /// assert_eq!(
    ///     hmm.path_posteriors(&em, &[1, 1, 1, 1]).unwrap_err(),
    ///     AlignmentFault::Start { state: 1 }
    /// );
    /// # Ok::<(), cepstra_hmm::Error>(())
    /// ```
    pub fn path_posteriors(
        &self,
        em: &Emissions,
        states: &[usize],
    ) -> std::result::Result<Posteriors, AlignmentFault> {
        let score = self.path_score(em, states)?;
        Ok(self.occupancies_of_path(em, states, score))
    }

    /// Checks `states` against the topology and returns ln p(X, path), summed in the order of
    /// the Viterbi recursion ([`Hmm::viterbi`]), so the best path gets the same bits.
    fn path_score(
        &self,
        em: &Emissions,
        states: &[usize],
    ) -> std::result::Result<f64, AlignmentFault> {
        let (t_len, s) = em.state.dim();
        if states.len() != t_len || t_len == 0 {
            return Err(AlignmentFault::Length {
                frames: t_len,
                got: states.len(),
            });
        }
        if let Some((frame, &state)) = states.iter().enumerate().find(|&(_, &j)| j >= s) {
            return Err(AlignmentFault::StateOutOfRange {
                frame,
                state: i64::try_from(state).unwrap_or(i64::MAX),
                num_states: s,
            });
        }
        let first = states[0];
        if self.trans[[0, first + 1]] <= 0.0 {
            return Err(AlignmentFault::Start { state: first });
        }
        let mut score = self.log_trans[[0, first + 1]] + em.state[[0, first]];
        for t in 1..t_len {
            let (i, j) = (states[t - 1], states[t]);
            if self.trans[[i + 1, j + 1]] <= 0.0 {
                return Err(AlignmentFault::Transition {
                    frame: t,
                    from: i,
                    to: j,
                });
            }
            score = score + self.log_trans[[i + 1, j + 1]] + em.state[[t, j]];
        }
        let last = states[t_len - 1];
        if !self.allow_any_end {
            if self.trans[[last + 1, s + 1]] <= 0.0 {
                return Err(AlignmentFault::End { state: last });
            }
            score += self.log_trans[[last + 1, s + 1]];
        }
        if score == f64::NEG_INFINITY || score.is_nan() {
            return Err(AlignmentFault::Impossible);
        }
        Ok(score)
    }

    /// Occupancy 1 along `states` (a valid path of `em`'s length), component posteriors within
    /// each aligned state, transition counts along the path; `total` as given.
    fn occupancies_of_path(&self, em: &Emissions, states: &[usize], total: f64) -> Posteriors {
        let (t_len, s) = em.state.dim();
        let mut state_occ = Array2::zeros((t_len, s));
        let mut comp_occ = Array2::zeros((t_len, em.comp.ncols()));
        let mut tc = Array2::zeros((s + 2, s + 2));
        for (t, &j) in states.iter().enumerate() {
            state_occ[[t, j]] = 1.0;
            for c in self.offsets[j]..self.offsets[j + 1] {
                comp_occ[[t, c]] = em.resp[[t, c]];
            }
            let from = if t == 0 { 0 } else { states[t - 1] + 1 };
            tc[[from, j + 1]] += 1.0;
        }
        if !self.allow_any_end {
            tc[[states[t_len - 1] + 1, s + 1]] += 1.0;
        }
        Posteriors {
            total,
            state_occ,
            comp_occ,
            trans_counts: tc,
        }
    }
}
