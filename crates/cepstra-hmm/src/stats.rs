//! Mergeable f64 statistics of a pass (per-state GMM statistics + transition counts) and the
//! re-estimation from them (the Baum-Welch / Viterbi M-step).

use cepstra_gmm::{estimate, DiagGmm, EstimateOptions, Gmm, GmmStats, SecondOrder};
use ndarray::{s, Array1, Array2, Array3, ArrayView2, Axis};

use crate::algo::Posteriors;
use crate::error::{Error, Result};
use crate::model::Hmm;

/// Statistics of one HMM over some utterances: each state's [`GmmStats`] (weighted by the
/// state-component occupancies) and the expected transition counts (HTK's layout).
#[derive(Debug, Clone, PartialEq)]
pub struct HmmStats {
    /// One per emitting state.
    pub states: Vec<GmmStats>,
    /// (S+2)×(S+2) transition counts.
    pub trans_counts: Array2<f64>,
    /// Σ ln p(X) of the utterances accumulated.
    pub total_loglike: f64,
    /// Frames accumulated.
    pub num_frames: f64,
    /// Utterances accumulated.
    pub num_utts: u64,
}

impl HmmStats {
    /// Zero statistics shaped for `hmm`.
    pub fn for_model(hmm: &Hmm) -> Self {
        let n = hmm.num_states() + 2;
        HmmStats {
            states: hmm.states.iter().map(GmmStats::for_model).collect(),
            trans_counts: Array2::zeros((n, n)),
            total_loglike: 0.0,
            num_frames: 0.0,
            num_utts: 0,
        }
    }

    /// Adds one utterance's posteriors (from [`Hmm::posteriors`], or a Viterbi path turned into
    /// 0/1 occupancies) with its features.
    pub fn add(&mut self, hmm: &Hmm, feats: ArrayView2<'_, f32>, post: &Posteriors) -> Result<()> {
        let x = feats.mapv(f64::from);
        let xx = x.mapv(|v| v * v);
        // One GEMM for every state's components (Σ M_s rows), sliced per state below.
        let first_all = post.comp_occ.t().dot(&x);
        let second_all = post.comp_occ.t().dot(&xx);
        let occ_all = post.comp_occ.sum_axis(Axis(0));
        for (j, st) in self.states.iter_mut().enumerate() {
            let range = hmm.offsets[j]..hmm.offsets[j + 1];
            let occ = occ_all.slice(s![range.clone()]).to_owned();
            let first = first_all.slice(s![range.clone(), ..]).to_owned();
            let second = match st.second() {
                SecondOrder::Diag(_) => {
                    SecondOrder::Diag(second_all.slice(s![range.clone(), ..]).to_owned())
                }
                SecondOrder::Full(_) => {
                    let g = post.comp_occ.slice(s![.., range.clone()]);
                    let d = x.ncols();
                    let mut s3 = Array3::zeros((g.ncols(), d, d));
                    for m in 0..g.ncols() {
                        let w = &x * &g.column(m).insert_axis(Axis(1));
                        s3.index_axis_mut(Axis(0), m).assign(&w.t().dot(&x));
                    }
                    SecondOrder::Full(s3)
                }
            };
            let frames = post.state_occ.column(j).sum();
            let utt = GmmStats::from_parts(occ, first, second, frames, 0.0)?;
            st.merge(&utt)?;
        }
        self.trans_counts += &post.trans_counts;
        self.total_loglike += post.total;
        self.num_frames += feats.nrows() as f64;
        self.num_utts += 1;
        Ok(())
    }

    /// Adds `other` (same shape): merge(A, B) holds the statistics of A ∪ B.
    pub fn merge(&mut self, other: &HmmStats) -> Result<()> {
        if other.states.len() != self.states.len() {
            return Err(Error::InvalidModel(format!(
                "statistics of {} states cannot be added to statistics of {}",
                other.states.len(),
                self.states.len()
            )));
        }
        for (a, b) in self.states.iter_mut().zip(&other.states) {
            a.merge(b)?;
        }
        self.trans_counts += &other.trans_counts;
        self.total_loglike += other.total_loglike;
        self.num_frames += other.num_frames;
        self.num_utts += other.num_utts;
        Ok(())
    }
}

/// Options of the M-step.
#[derive(Debug, Clone, PartialEq)]
pub struct HmmEstimateOptions {
    /// The GMM M-step of every state (floors, minimum occupancy, mixing up: `mix_up` is the
    /// Gaussians per state to reach; the mixing-up seed is offset by the state index).
    pub gmm: EstimateOptions,
    /// Transition floor: every allowed transition keeps at least this probability (0 = off).
    pub trans_floor: f64,
    /// A per-dimension variance floor of diagonal states (e.g. a fraction of the class's
    /// global variance), applied after the GMM M-step; `None`: off.
    pub var_floor_per_dim: Option<Vec<f64>>,
    /// Components removed for too little occupancy are replaced by splitting the heaviest, so
    /// a state keeps its number of Gaussians.
    pub resplit_removed: bool,
}

impl Default for HmmEstimateOptions {
    fn default() -> Self {
        HmmEstimateOptions {
            gmm: EstimateOptions::default(),
            trans_floor: 1e-5,
            var_floor_per_dim: None,
            resplit_removed: false,
        }
    }
}

/// Re-estimates `hmm` from `stats`. Zero transitions stay zero (the topology survives); a state
/// without frames keeps its parameters. The messages name the state (1-based) and, for
/// components removed, re-split or floored, the component (0-based, as cepstra-gmm reports).
pub fn estimate_hmm(
    hmm: &Hmm,
    stats: &HmmStats,
    opts: &HmmEstimateOptions,
) -> Result<(Hmm, Vec<String>)> {
    if !(opts.trans_floor >= 0.0 && opts.trans_floor < 1.0) {
        return Err(Error::InvalidModel(format!(
            "transition floor {} must be in [0, 1)",
            opts.trans_floor
        )));
    }
    let mut warnings = Vec::new();
    let mut states = Vec::with_capacity(hmm.num_states());
    for (j, (g, st)) in hmm.states.iter().zip(&stats.states).enumerate() {
        if !(st.occupancy().sum() > 0.0) {
            warnings.push(format!("state {} got no frames: parameters kept", j + 1));
            states.push(g.clone());
            continue;
        }
        let mut gopts = opts.gmm.clone();
        gopts.mix_up_seed = gopts.mix_up_seed.wrapping_add(j as u64);
        if opts.resplit_removed {
            gopts.mix_up = gopts.mix_up.max(g.num_gauss());
        }
        let (mut ng, report) = estimate(st, g, &gopts)?;
        for &c in &report.removed {
            warnings.push(format!(
                "state {}: component {c} removed (occupancy {:.3} < --min-gaussian-occupancy {})",
                j + 1,
                st.occupancy()[c],
                opts.gmm.min_gaussian_occupancy
            ));
        }
        if !report.removed.is_empty() && !report.split.is_empty() {
            warnings.push(format!(
                "state {}: re-split components {:?} to keep {} Gaussians",
                j + 1,
                report.split,
                ng.num_gauss()
            ));
        }
        if let (Some(floor), Gmm::Diag(d)) = (&opts.var_floor_per_dim, &ng) {
            let mut vars = d.vars().to_owned();
            let mut n = 0;
            for mut row in vars.rows_mut() {
                for (v, &f) in row.iter_mut().zip(floor) {
                    if *v < f {
                        *v = f;
                        n += 1;
                    }
                }
            }
            if n > 0 {
                log::debug!(
                    "state {}: {n} variances raised to the relative floor",
                    j + 1
                );
                ng = Gmm::from(DiagGmm::new(
                    d.weights().to_owned(),
                    d.means().to_owned(),
                    vars,
                )?);
            }
        }
        states.push(ng);
    }
    let n = hmm.num_states() + 2;
    let mut t = hmm.trans.clone();
    for i in 0..n - 1 {
        let row = stats.trans_counts.row(i);
        let sum: f64 = row.sum();
        if !(sum > 0.0) {
            continue;
        }
        let allowed: Array1<bool> = hmm.trans.row(i).mapv(|p| p > 0.0);
        let mut p: Array1<f64> = row.mapv(|c| c / sum);
        for (v, &a) in p.iter_mut().zip(&allowed) {
            *v = if a { v.max(opts.trans_floor) } else { 0.0 };
        }
        let z = p.sum();
        t.row_mut(i).assign(&(p / z));
    }
    Ok((Hmm::new(states, t, hmm.allow_any_end)?, warnings))
}
