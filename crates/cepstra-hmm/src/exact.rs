//! Exact sums of HMM statistics: the same bits for any split into jobs, any order and any
//! number of threads.
//!
//! Each utterance's statistics ([`HmmStats`] of that utterance alone, f64) are rounded once to
//! fixed point and summed in `i128` with cepstra-train's exact accumulator
//! ([`cepstra_train::ExactStats`] per state, [`cepstra_train::exact::to_fixed`] for the
//! transition counts, the log-likelihood and the frame count): integer addition is associative,
//! so `acc-hmms` with any `--nj` and `est-hmms` give the bytes `train-hmms` gives.

use crate::occstats::UttStats;
use cepstra_train::exact::{add_fixed, from_fixed, to_fixed, StatSlices};
use cepstra_train::{ExactAccumulator, ExactStats};
use ndarray::{Array2, ArrayView2};

use crate::error::{Error, Result};
use crate::model::Hmm;
use crate::stats::HmmStats;

/// Fixed-point statistics of one HMM over some utterances.
///
/// ```
/// use cepstra_gmm::{DiagGmm, Gmm};
/// use cepstra_hmm::{ExactHmmStats, Hmm, HmmStats, Topology};
/// use ndarray::{array, Array2};
/// let g = |m: f64| Gmm::from(DiagGmm::new(array![1.0], array![[m]], array![[1.0]]).unwrap());
/// let hmm = Hmm::left_to_right(vec![g(0.0), g(3.0)], Topology::Linear, 0.5, false)?;
/// let mut exact = ExactHmmStats::for_model(&hmm);
/// for t in [4, 7] {
///     let x = Array2::from_shape_fn((t, 1), |(i, _)| i as f32);
///     let post = hmm.posteriors(&hmm.emissions(x.view())?).unwrap();
///     let mut one = HmmStats::for_model(&hmm);
///     one.add(&hmm, x.view(), &post)?;
///     exact.add(&one, "class x")?;
/// }
/// assert_eq!(exact.num_utts(), 2);
/// assert_eq!(exact.to_stats()?.num_frames, 11.0);
/// # Ok::<(), cepstra_hmm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactHmmStats {
    /// One per emitting state.
    pub(crate) states: Vec<ExactStats>,
    /// (S+2)² transition counts, row-major.
    pub(crate) trans: Vec<i128>,
    pub(crate) loglike: i128,
    pub(crate) num_frames: i128,
    pub(crate) num_utts: u64,
    /// Utterances no path of the model explains (too short), not accumulated.
    pub(crate) num_skipped: u64,
}

impl ExactHmmStats {
    /// Zero statistics shaped for `hmm`.
    pub fn for_model(hmm: &Hmm) -> Self {
        let n = hmm.num_states() + 2;
        ExactHmmStats {
            states: hmm.states.iter().map(ExactStats::for_model).collect(),
            trans: vec![0; n * n],
            loglike: 0,
            num_frames: 0,
            num_utts: 0,
            num_skipped: 0,
        }
    }

    /// Number of emitting states.
    pub fn num_states(&self) -> usize {
        self.states.len()
    }
    /// Utterances accumulated.
    pub fn num_utts(&self) -> u64 {
        self.num_utts
    }
    /// Utterances skipped as too short for the model.
    pub fn num_skipped(&self) -> u64 {
        self.num_skipped
    }
    /// Frames accumulated.
    pub fn num_frames(&self) -> f64 {
        from_fixed(self.num_frames)
    }
    /// Σ ln p(X) of the utterances accumulated.
    pub fn total_loglike(&self) -> f64 {
        from_fixed(self.loglike)
    }
    /// Counts one skipped utterance.
    pub fn skip(&mut self) {
        self.num_skipped += 1;
    }

    /// Adds the statistics of one utterance (or any [`HmmStats`], rounded once); `what` names
    /// the class in errors.
    pub fn add(&mut self, st: &HmmStats, what: &str) -> Result<()> {
        let bad = |reason: String| Error::class(what, reason);
        if st.states.len() != self.states.len() || st.trans_counts.len() != self.trans.len() {
            return Err(bad(format!(
                "statistics of {} states cannot be added to statistics of {}",
                st.states.len(),
                self.states.len()
            )));
        }
        for (a, b) in self.states.iter_mut().zip(&st.states) {
            a.add(b).map_err(bad)?;
        }
        self.add_totals(st, what)
    }

    /// Adds everything of `st` but the per-state statistics (transition counts,
    /// log-likelihood, frames, utterances).
    fn add_totals(&mut self, st: &HmmStats, what: &str) -> Result<()> {
        self.add_total_parts(
            st.trans_counts.iter().copied(),
            st.total_loglike,
            st.num_frames,
            st.num_utts,
            what,
        )
    }

    /// [`Self::add_totals`] from its parts (the transition counts row-major).
    fn add_total_parts(
        &mut self,
        trans: impl Iterator<Item = f64>,
        loglike: f64,
        num_frames: f64,
        num_utts: u64,
        what: &str,
    ) -> Result<()> {
        let bad = |reason: String| Error::class(what, reason);
        for (a, v) in self.trans.iter_mut().zip(trans) {
            add_fixed(a, to_fixed(v, "a transition count").map_err(bad)?).map_err(bad)?;
        }
        add_fixed(
            &mut self.loglike,
            to_fixed(loglike, "the log-likelihood").map_err(bad)?,
        )
        .map_err(bad)?;
        add_fixed(
            &mut self.num_frames,
            to_fixed(num_frames, "the frame count").map_err(bad)?,
        )
        .map_err(bad)?;
        self.num_utts += num_utts;
        Ok(())
    }

    /// Adds `other` exactly (same shape); `what` names the class in errors.
    pub fn merge(&mut self, other: &ExactHmmStats, what: &str) -> Result<()> {
        let bad = |reason: String| Error::class(what, reason);
        if other.states.len() != self.states.len() || other.trans.len() != self.trans.len() {
            return Err(bad(format!(
                "statistics of {} states cannot be added to statistics of {}",
                other.states.len(),
                self.states.len()
            )));
        }
        for (a, b) in self.states.iter_mut().zip(&other.states) {
            a.merge(b).map_err(bad)?;
        }
        for (a, &b) in self.trans.iter_mut().zip(&other.trans) {
            add_fixed(a, b).map_err(bad)?;
        }
        add_fixed(&mut self.loglike, other.loglike).map_err(bad)?;
        add_fixed(&mut self.num_frames, other.num_frames).map_err(bad)?;
        self.num_utts += other.num_utts;
        self.num_skipped += other.num_skipped;
        Ok(())
    }

    /// The f64 statistics the M-step takes (each exact sum rounded once).
    pub fn to_stats(&self) -> Result<HmmStats> {
        let n = (self.trans.len() as f64).sqrt() as usize;
        Ok(HmmStats {
            states: self
                .states
                .iter()
                .map(|s| s.to_stats())
                .collect::<cepstra_gmm::Result<Vec<_>>>()?,
            trans_counts: Array2::from_shape_fn((n, n), |(i, j)| from_fixed(self.trans[i * n + j])),
            total_loglike: from_fixed(self.loglike),
            num_frames: from_fixed(self.num_frames),
            num_utts: self.num_utts,
        })
    }
}

/// One utterance's occupancies, for [`HmmAccumulator::add_occupancies`].
pub(crate) struct Occupancies<'a> {
    /// T×K component occupancies γ_t(j, c) (the stacked components).
    pub comp: ArrayView2<'a, f64>,
    /// S: Σ_t γ_t(j).
    pub state_frames: &'a [f64],
    /// (S+2)×(S+2) transition counts, row-major.
    pub trans: &'a [f64],
    /// ln p(X).
    pub total: f64,
}

/// The fast way to build [`ExactHmmStats`] from many utterances (one per worker): the per-state
/// statistics through cepstra-train's [`ExactAccumulator`] (vectorised, the same integers as
/// [`ExactStats::add`]), the rest as [`ExactHmmStats::add`].
pub(crate) struct HmmAccumulator {
    states: Vec<ExactAccumulator>,
    rest: ExactHmmStats,
    /// One utterance's statistics (buffers reused).
    utt: UttStats,
}

impl HmmAccumulator {
    /// Zero statistics shaped for `hmm`.
    pub(crate) fn for_model(hmm: &Hmm) -> Self {
        let mut rest = ExactHmmStats::for_model(hmm);
        let states = hmm.states.iter().map(ExactAccumulator::for_model).collect();
        rest.states.clear();
        HmmAccumulator {
            states,
            rest,
            utt: UttStats::default(),
        }
    }

    /// Adds one utterance given as occupancies: `occ` of its frames `feats`, the per-state
    /// GMM statistics summed from the component occupancies (T×K, the stacked components;
    /// [`UttStats`]), rounded once per state. `what` names the class in errors.
    pub(crate) fn add_occupancies(
        &mut self,
        hmm: &Hmm,
        feats: ArrayView2<'_, f32>,
        occ: &Occupancies<'_>,
        what: &str,
    ) -> Result<()> {
        let d = hmm.dim();
        let cov = hmm.covariance_type();
        let block = UttStats::block(cov, d);
        let k = hmm.stacked.num_gauss();
        let gamma = occ
            .comp
            .as_slice()
            .ok_or_else(|| Error::class(what, "occupancies not in standard layout"))?;
        let st = &mut self.utt;
        st.accumulate(feats, gamma, k, cov);
        let (o, first, second) = (&st.occ, &st.first, &st.second);
        for (j, acc) in self.states.iter_mut().enumerate() {
            let (lo, hi) = (hmm.offsets[j], hmm.offsets[j + 1]);
            acc.add_slices(&StatSlices {
                occupancy: &o[lo..hi],
                first: &first[lo * d..hi * d],
                second: &second[lo * block..hi * block],
                num_frames: occ.state_frames[j],
                loglike: 0.0,
            })
            .map_err(|reason| Error::class(what, reason))?;
        }
        self.rest.add_total_parts(
            occ.trans.iter().copied(),
            occ.total,
            feats.nrows() as f64,
            1,
            what,
        )
    }

    /// Counts one skipped utterance.
    pub(crate) fn skip(&mut self) {
        self.rest.skip();
    }

    /// The exact statistics.
    pub(crate) fn finish(self, what: &str) -> Result<ExactHmmStats> {
        let mut out = self.rest;
        out.states = self
            .states
            .into_iter()
            .map(|a| a.finish().map_err(|reason| Error::class(what, reason)))
            .collect::<Result<_>>()?;
        Ok(out)
    }
}
