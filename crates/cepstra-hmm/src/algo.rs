//! Forward, backward, Viterbi and occupancies in the log domain (f64).

use cepstra_gmm::kernels::VecMath;
use ndarray::{Array2, ArrayView2};

use crate::error::{Error, Result};
use crate::model::Hmm;

fn lse(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = xs.clone().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + xs.map(|x| exp_rel(x - m)).sum::<f64>().ln()
}

/// e^d for d = x − max ≤ 0: exactly 1 for the maximum itself without calling `exp` (e^0 = 1
/// exactly, so the sums are bit for bit those of `exp` everywhere; one call fewer per log-sum).
#[inline]
fn exp_rel(d: f64) -> f64 {
    if d == 0.0 {
        1.0
    } else {
        d.exp()
    }
}

/// Emission log-likelihoods of one utterance.
#[derive(Debug, Clone)]
pub struct Emissions {
    /// T×(Σ M_s): ln w_sm + ln N(x_t; μ_sm, Σ_sm), state s's components in its column range.
    pub comp: Array2<f64>,
    /// T×S: ln b_s(x_t) = log-sum-exp of state s's columns.
    pub state: Array2<f64>,
    /// T×(Σ M_s): each component's share of its state's likelihood, exp(comp − state) (the
    /// within-state component posteriors, computed with `state`, so no second exp).
    pub resp: Array2<f64>,
}

/// Per frame and state: ln of the sum of the state's component likelihoods and each
/// component's share of it. Vectorised in three sweeps over the utterance: the shifted values
/// comp − max of each state, their exponentials ([`VecMath::exp`], one call for all T×ΣM), and
/// the logs of the per-state sums ([`VecMath::ln`], one call for all T×S); the same bits on
/// every kernel set.
fn state_lse(comp: &Array2<f64>, offsets: &[usize], want_resp: bool) -> (Array2<f64>, Array2<f64>) {
    let vm = VecMath::best();
    let t_len = comp.nrows();
    let s = offsets.len() - 1;
    let mut maxes = Array2::zeros((t_len, s));
    let mut e = comp.as_standard_layout().into_owned();
    for t in 0..t_len {
        let mut row = e.row_mut(t);
        for j in 0..s {
            let range = offsets[j]..offsets[j + 1];
            let m = range
                .clone()
                .map(|c| row[c])
                .fold(f64::NEG_INFINITY, f64::max);
            maxes[[t, j]] = m;
            for c in range {
                // A state whose components are all −∞ gives NaN here, exp 0: handled below.
                row[c] -= m;
            }
        }
    }
    vm.exp(e.as_slice_mut().expect("standard layout"));
    let mut state = Array2::zeros((t_len, s));
    for t in 0..t_len {
        for j in 0..s {
            let sum: f64 = (offsets[j]..offsets[j + 1]).map(|c| e[[t, c]]).sum();
            // sum ≥ 1 (the maximum contributes e^0 = 1) unless the state is impossible.
            state[[t, j]] = if maxes[[t, j]] == f64::NEG_INFINITY {
                1.0
            } else {
                sum
            };
        }
    }
    // The sums divide the shares below; scoring wants no shares, so no copy.
    let sums = want_resp.then(|| state.clone());
    vm.ln(state.as_slice_mut().expect("standard layout"));
    for (v, &m) in state.iter_mut().zip(maxes.iter()) {
        *v = if m == f64::NEG_INFINITY { m } else { m + *v };
    }
    let Some(sums) = sums else {
        return (state, Array2::zeros((t_len, 0)));
    };
    for t in 0..t_len {
        for j in 0..s {
            let sum = sums[[t, j]];
            for c in offsets[j]..offsets[j + 1] {
                e[[t, c]] /= sum;
            }
        }
    }
    (state, e)
}

/// The best path of an utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct ViterbiPath {
    /// ln of the best path's probability (−∞ when no path fits the utterance).
    pub score: f64,
    /// 0-based emitting state of each frame (empty when `score` is −∞).
    pub states: Vec<usize>,
}

/// Posteriors of one utterance (Baum-Welch E-step).
#[derive(Debug, Clone)]
pub struct Posteriors {
    /// ln p(X) (the forward total).
    pub total: f64,
    /// T×S state occupancies γ_t(s).
    pub state_occ: Array2<f64>,
    /// T×(Σ M_s) state-component occupancies γ_t(s, m).
    pub comp_occ: Array2<f64>,
    /// (S+2)×(S+2) expected transition counts in HTK's layout (entry row 0, exit column S+1).
    pub trans_counts: Array2<f64>,
}

impl Hmm {
    /// Emission log-likelihoods of every frame and state in one batched E-step call.
    pub fn emissions(&self, feats: ArrayView2<'_, f32>) -> Result<Emissions> {
        if feats.ncols() != self.dim() {
            return Err(Error::Dimension {
                expected: self.dim(),
                got: feats.ncols(),
            });
        }
        let comp = self.prepared.0.component_log_likelihoods(feats)?;
        let (state, resp) = state_lse(&comp, &self.offsets, true);
        Ok(Emissions { comp, state, resp })
    }

    /// As [`Hmm::emissions`] without the component shares (`resp` is empty, 0 columns): what
    /// scoring needs ([`Hmm::forward`], [`Hmm::viterbi`]); the same `comp` and `state` bits.
    pub fn emissions_for_scoring(&self, feats: ArrayView2<'_, f32>) -> Result<Emissions> {
        if feats.ncols() != self.dim() {
            return Err(Error::Dimension {
                expected: self.dim(),
                got: feats.ncols(),
            });
        }
        let comp = self.prepared.0.component_log_likelihoods(feats)?;
        let (state, resp) = state_lse(&comp, &self.offsets, false);
        Ok(Emissions { comp, state, resp })
    }

    /// As [`Hmm::emissions`] with f64 features and an f64 E-step (for parity checks against
    /// f64 references). cepstra-gmm has no f64 per-component call, so this makes one f64
    /// log-likelihood call per component (each a one-Gaussian model) and adds ln w.
    pub fn emissions_f64(&self, feats: ArrayView2<'_, f64>) -> Result<Emissions> {
        if feats.ncols() != self.dim() {
            return Err(Error::Dimension {
                expected: self.dim(),
                got: feats.ncols(),
            });
        }
        let ncomp = self.stacked.num_gauss();
        let mut comp = Array2::zeros((feats.nrows(), ncomp));
        let means = self.stacked.means();
        let covs = self.stacked.covars_full();
        for c in 0..ncomp {
            let one = cepstra_gmm::Gmm::from_params(
                self.covariance_type(),
                ndarray::Array1::ones(1),
                means.slice(ndarray::s![c..c + 1, ..]).to_owned(),
                covs.slice(ndarray::s![c..c + 1, .., ..]).to_owned(),
            )?;
            let ll = one.log_likelihoods_f64(feats)?;
            let lw = self.stacked.weights()[c].ln();
            comp.column_mut(c).assign(&ll.mapv(|v| v + lw));
        }
        let (state, resp) = state_lse(&comp, &self.offsets, true);
        Ok(Emissions { comp, state, resp })
    }

    fn la(&self, i: usize, j: usize) -> f64 {
        self.log_trans[[i, j]]
    }

    fn end(&self, i: usize) -> f64 {
        if self.allow_any_end {
            0.0
        } else {
            self.la(i + 1, self.num_states() + 1)
        }
    }

    /// Forward lattice α (T×S, ln) and the total ln p(X) (−∞ for no path or T = 0).
    pub fn forward(&self, em: &Emissions) -> (Array2<f64>, f64) {
        let (t_len, s) = em.state.dim();
        let mut a = Array2::from_elem((t_len, s), f64::NEG_INFINITY);
        if t_len == 0 {
            return (a, f64::NEG_INFINITY);
        }
        for j in 0..s {
            a[[0, j]] = self.la(0, j + 1) + em.state[[0, j]];
        }
        for t in 1..t_len {
            for j in 0..s {
                let v = lse(self.preds[j].iter().map(|&(i, l)| a[[t - 1, i]] + l));
                a[[t, j]] = v + em.state[[t, j]];
            }
        }
        let total = lse((0..s).map(|i| a[[t_len - 1, i]] + self.end(i)));
        (a, total)
    }

    /// Backward lattice β (T×S, ln) and the total ln p(X) computed from it.
    pub fn backward(&self, em: &Emissions) -> (Array2<f64>, f64) {
        let (t_len, s) = em.state.dim();
        let mut b = Array2::from_elem((t_len, s), f64::NEG_INFINITY);
        if t_len == 0 {
            return (b, f64::NEG_INFINITY);
        }
        for i in 0..s {
            b[[t_len - 1, i]] = self.end(i);
        }
        for t in (0..t_len - 1).rev() {
            for i in 0..s {
                b[[t, i]] = lse(self.succs[i]
                    .iter()
                    .map(|&(j, l)| l + em.state[[t + 1, j]] + b[[t + 1, j]]));
            }
        }
        let total = lse((0..s).map(|j| self.la(0, j + 1) + em.state[[0, j]] + b[[0, j]]));
        (b, total)
    }

    /// The best state sequence (ties: the lower state index).
    pub fn viterbi(&self, em: &Emissions) -> ViterbiPath {
        let (t_len, s) = em.state.dim();
        let none = ViterbiPath {
            score: f64::NEG_INFINITY,
            states: Vec::new(),
        };
        if t_len == 0 {
            return none;
        }
        let mut d = Array2::from_elem((t_len, s), f64::NEG_INFINITY);
        let mut back = Array2::<usize>::zeros((t_len, s));
        for j in 0..s {
            d[[0, j]] = self.la(0, j + 1) + em.state[[0, j]];
        }
        for t in 1..t_len {
            for j in 0..s {
                let (mut best, mut arg) = (f64::NEG_INFINITY, 0);
                for &(i, l) in &self.preds[j] {
                    let v = d[[t - 1, i]] + l;
                    if v > best {
                        best = v;
                        arg = i;
                    }
                }
                d[[t, j]] = best + em.state[[t, j]];
                back[[t, j]] = arg;
            }
        }
        let (mut best, mut arg) = (f64::NEG_INFINITY, 0);
        for i in 0..s {
            let v = d[[t_len - 1, i]] + self.end(i);
            if v > best {
                best = v;
                arg = i;
            }
        }
        if best == f64::NEG_INFINITY {
            return none;
        }
        let mut states = vec![0; t_len];
        states[t_len - 1] = arg;
        for t in (1..t_len).rev() {
            states[t - 1] = back[[t, states[t]]];
        }
        ViterbiPath {
            score: best,
            states,
        }
    }

    /// Forward-backward: state and component occupancies and transition counts. `None` when
    /// no path explains the utterance (too short for the topology): the caller skips it.
    pub fn posteriors(&self, em: &Emissions) -> Option<Posteriors> {
        let (t_len, s) = em.state.dim();
        let (a, total) = self.forward(em);
        if !total.is_finite() {
            return None;
        }
        let (b, _) = self.backward(em);
        let vm = VecMath::best();
        let mut state_occ =
            Array2::from_shape_fn((t_len, s), |(t, j)| a[[t, j]] + b[[t, j]] - total);
        vm.exp(state_occ.as_slice_mut().expect("standard layout"));
        let ncomp = em.comp.ncols();
        let mut comp_occ = Array2::zeros((t_len, ncomp));
        for t in 0..t_len {
            for j in 0..s {
                for c in self.offsets[j]..self.offsets[j + 1] {
                    comp_occ[[t, c]] = state_occ[[t, j]] * em.resp[[t, c]];
                }
            }
        }
        let n = s + 2;
        let mut tc = Array2::zeros((n, n));
        for j in 0..s {
            tc[[0, j + 1]] = state_occ[[0, j]];
        }
        // Every arc's log-posterior at every frame, exponentiated in one call, then summed per
        // arc in frame order.
        let mut arcs =
            Vec::with_capacity((t_len - 1) * self.succs.iter().map(Vec::len).sum::<usize>());
        for t in 0..t_len - 1 {
            for i in 0..s {
                for &(j, l) in &self.succs[i] {
                    arcs.push(a[[t, i]] + l + em.state[[t + 1, j]] + b[[t + 1, j]] - total);
                }
            }
        }
        vm.exp(&mut arcs);
        let mut e = arcs.iter();
        for _ in 0..t_len - 1 {
            for i in 0..s {
                for &(j, _) in &self.succs[i] {
                    tc[[i + 1, j + 1]] += e.next().expect("one value per arc and frame");
                }
            }
        }
        if !self.allow_any_end {
            for i in 0..s {
                tc[[i + 1, s + 1]] = (a[[t_len - 1, i]] + self.end(i) - total).exp();
            }
        }
        Some(Posteriors {
            total,
            state_occ,
            comp_occ,
            trans_counts: tc,
        })
    }
}
