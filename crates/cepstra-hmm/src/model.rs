//! The model: a left-to-right HMM with GMM emissions and HTK's non-emitting entry and exit.

use cepstra_gmm::{CovarianceType, DiagGmm, Gmm};
use ndarray::{concatenate, Array1, Array2, Array3, Axis};

use crate::error::{Error, Result};

/// Left-to-right topologies (`--topology`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    /// Self-loop and next state.
    #[default]
    Linear,
    /// Self-loop, next state and skip one state.
    Skip,
}

/// The stacked model prepared for the GMM engine (shared by clones).
#[derive(Clone)]
pub(crate) struct PreparedStack(pub(crate) std::sync::Arc<cepstra_gmm::Prepared<f32>>);

impl std::fmt::Debug for PreparedStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Prepared")
    }
}

/// An HMM with S emitting states, each a GMM, and an (S+2)×(S+2) transition matrix in HTK's
/// convention: index 0 is the non-emitting entry, 1..=S the emitting states, S+1 the
/// non-emitting exit (its row is zero). With `allow_any_end` an utterance may end in any
/// emitting state and the exit probabilities are not applied at the end (hmmlearn's convention);
/// otherwise it must leave through the exit (HTK's).
///
/// The emission log-likelihoods of all states are computed in one batched call of the GMM
/// engine on a model stacking every state's components (weights as given), so an utterance
/// costs one E-step kernel pass whatever S is.
#[derive(Debug, Clone)]
pub struct Hmm {
    pub(crate) states: Vec<Gmm>,
    pub(crate) trans: Array2<f64>,
    pub(crate) log_trans: Array2<f64>,
    /// Per emitting state j (0-based): its emitting predecessors i with ln a_ij (finite), in
    /// increasing i; the forward and Viterbi recursions visit only these.
    pub(crate) preds: Vec<Vec<(usize, f64)>>,
    /// Per emitting state i: its emitting successors j with ln a_ij, in increasing j.
    pub(crate) succs: Vec<Vec<(usize, f64)>>,
    /// The emitting transitions as diagonals of the matrix, for the scaled recursions (which
    /// then run over whole rows of states, vectorised): per offset δ = j − i of an allowed arc
    /// i → j (increasing δ), the S probabilities a_{j−δ, j} by j (0 where no arc).
    pub(crate) band: Vec<(isize, Vec<f64>)>,
    pub(crate) allow_any_end: bool,
    /// All states' components in one model (state s owns components offsets[s]..offsets[s+1]).
    pub(crate) stacked: Gmm,
    /// `stacked` prepared once for the GMM engine (factorisations, packed parameters), shared by
    /// every utterance's emissions.
    pub(crate) prepared: PreparedStack,
    pub(crate) offsets: Vec<usize>,
}

impl Hmm {
    /// A model from its state GMMs and its (S+2)×(S+2) transition matrix (rows 0..=S are
    /// probabilities summing to 1 within 1e-6, the exit row is zero, nothing enters the entry).
    pub fn new(states: Vec<Gmm>, trans: Array2<f64>, allow_any_end: bool) -> Result<Hmm> {
        let s = states.len();
        if s == 0 {
            return Err(Error::InvalidModel(
                "an HMM needs at least one emitting state".into(),
            ));
        }
        let dim = states[0].dim();
        let cov = states[0].covariance_type();
        for (i, g) in states.iter().enumerate() {
            if g.dim() != dim || g.covariance_type() != cov {
                return Err(Error::InvalidModel(format!(
                    "state {} has dimension {} ({:?}), state 1 has {dim} ({cov:?})",
                    i + 1,
                    g.dim(),
                    g.covariance_type()
                )));
            }
        }
        if trans.dim() != (s + 2, s + 2) {
            return Err(Error::InvalidModel(format!(
                "the transition matrix is {}×{}, expected {n}×{n} for {s} emitting states",
                trans.nrows(),
                trans.ncols(),
                n = s + 2
            )));
        }
        for ((i, j), &p) in trans.indexed_iter() {
            if !(0.0..=1.0).contains(&p) {
                return Err(Error::InvalidModel(format!(
                    "transition {i}→{j} is {p}, not a probability"
                )));
            }
            if (j == 0 || i == s + 1) && p != 0.0 {
                return Err(Error::InvalidModel(format!(
                    "transition {i}→{j} is {p}: nothing enters the entry or leaves the exit"
                )));
            }
        }
        if trans[[0, s + 1]] != 0.0 {
            return Err(Error::InvalidModel(
                "the entry may not go straight to the exit (a tee model)".into(),
            ));
        }
        for i in 0..=s {
            let sum: f64 = trans.row(i).sum();
            if (sum - 1.0).abs() > 1e-6 {
                return Err(Error::InvalidModel(format!(
                    "transitions out of state {i} sum to {sum}, not 1"
                )));
            }
        }
        let mut offsets = vec![0];
        for g in &states {
            offsets.push(offsets[offsets.len() - 1] + g.num_gauss());
        }
        let weights = concatenate(
            Axis(0),
            &states.iter().map(|g| g.weights()).collect::<Vec<_>>(),
        )
        .map_err(|e| Error::InvalidModel(e.to_string()))?;
        let means = concatenate(
            Axis(0),
            &states.iter().map(|g| g.means()).collect::<Vec<_>>(),
        )
        .map_err(|e| Error::InvalidModel(e.to_string()))?;
        let weights = Array1::from(weights.to_vec());
        let diag_vars: Option<Vec<_>> = states
            .iter()
            .map(|g| match g {
                Gmm::Diag(d) => Some(d.vars()),
                Gmm::Full(_) => None,
            })
            .collect();
        let stacked = match diag_vars {
            // Diagonal states stack their variances (no D×D matrices to build and factor).
            Some(vars) => {
                let vars =
                    concatenate(Axis(0), &vars).map_err(|e| Error::InvalidModel(e.to_string()))?;
                Gmm::from(DiagGmm::new(weights, means, vars)?)
            }
            None => {
                let covs: Vec<Array3<f64>> = states.iter().map(|g| g.covars_full()).collect();
                let covars =
                    concatenate(Axis(0), &covs.iter().map(|c| c.view()).collect::<Vec<_>>())
                        .map_err(|e| Error::InvalidModel(e.to_string()))?;
                Gmm::from_params(cov, weights, means, covars)?
            }
        };
        let log_trans = trans.mapv(f64::ln);
        let preds = (1..=s)
            .map(|j| {
                (1..=s)
                    .filter(|&i| trans[[i, j]] > 0.0)
                    .map(|i| (i - 1, log_trans[[i, j]]))
                    .collect()
            })
            .collect();
        let succs = (1..=s)
            .map(|i| {
                (1..=s)
                    .filter(|&j| trans[[i, j]] > 0.0)
                    .map(|j| (j - 1, log_trans[[i, j]]))
                    .collect()
            })
            .collect();
        let mut deltas: Vec<isize> = (1..=s)
            .flat_map(|i| (1..=s).map(move |j| (i, j)))
            .filter(|&(i, j)| trans[[i, j]] > 0.0)
            .map(|(i, j)| j as isize - i as isize)
            .collect();
        deltas.sort_unstable();
        deltas.dedup();
        let band = deltas
            .into_iter()
            .map(|d| {
                let coef = (0..s as isize)
                    .map(|j| {
                        let i = j - d;
                        if (0..s as isize).contains(&i) {
                            trans[[i as usize + 1, j as usize + 1]]
                        } else {
                            0.0
                        }
                    })
                    .collect();
                (d, coef)
            })
            .collect();
        let prepared = PreparedStack(std::sync::Arc::new(stacked.prepare()));
        Ok(Hmm {
            band,
            prepared,
            states,
            trans,
            log_trans,
            preds,
            succs,
            allow_any_end,
            stacked,
            offsets,
        })
    }

    /// A left-to-right model: entry → state 1, each state keeps `self_loop` and shares the rest
    /// between the next state and (for [`Topology::Skip`]) the one after; the last state goes to
    /// the exit (with `allow_any_end`, hmmlearn's convention, the last state loops with
    /// probability 1 instead, as hmmlearn has no exit).
    pub fn left_to_right(
        states: Vec<Gmm>,
        topology: Topology,
        self_loop: f64,
        allow_any_end: bool,
    ) -> Result<Hmm> {
        if !(self_loop > 0.0 && self_loop < 1.0) {
            return Err(Error::InvalidModel(format!(
                "self-loop probability {self_loop} must be in (0, 1)"
            )));
        }
        let s = states.len();
        let mut t = Array2::zeros((s + 2, s + 2));
        if s > 0 {
            t[[0, 1]] = 1.0;
        }
        for i in 1..=s {
            let last = if allow_any_end { s } else { s + 1 };
            if i == s && allow_any_end {
                t[[i, i]] = 1.0;
                continue;
            }
            t[[i, i]] = self_loop;
            let onward: Vec<usize> = match topology {
                Topology::Linear => vec![i + 1],
                Topology::Skip => (i + 1..=(i + 2).min(last)).collect(),
            };
            for &j in &onward {
                t[[i, j]] = (1.0 - self_loop) / onward.len() as f64;
            }
        }
        Hmm::new(states, t, allow_any_end)
    }

    /// The probability of ending in emitting state `i` (0-based): 1 with `allow_any_end`, else
    /// the transition into the exit.
    pub(crate) fn end_prob(&self, i: usize) -> f64 {
        if self.allow_any_end {
            1.0
        } else {
            self.trans[[i + 1, self.num_states() + 1]]
        }
    }

    /// Number of emitting states S.
    pub fn num_states(&self) -> usize {
        self.states.len()
    }
    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.stacked.dim()
    }
    /// Covariance type of the state GMMs.
    pub fn covariance_type(&self) -> CovarianceType {
        self.stacked.covariance_type()
    }
    /// The GMM of emitting state `s` (0-based).
    pub fn state(&self, s: usize) -> &Gmm {
        &self.states[s]
    }
    /// The (S+2)×(S+2) transition matrix (HTK's layout).
    pub fn trans(&self) -> &Array2<f64> {
        &self.trans
    }
    /// Whether an utterance may end in any emitting state.
    pub fn allow_any_end(&self) -> bool {
        self.allow_any_end
    }
    /// The fewest frames any path from entry to exit needs.
    pub fn min_frames(&self) -> usize {
        let s = self.num_states();
        // Shortest path by breadth-first search over the emitting states.
        let mut dist = vec![usize::MAX; s + 2];
        dist[0] = 0;
        for i in 0..=s {
            if dist[i] == usize::MAX {
                continue;
            }
            for j in i + 1..s + 2 {
                if self.trans[[i, j]] > 0.0 {
                    let d = dist[i] + usize::from(j <= s);
                    dist[j] = dist[j].min(d);
                }
            }
        }
        if self.allow_any_end {
            1
        } else {
            dist[s + 1]
        }
    }
}
