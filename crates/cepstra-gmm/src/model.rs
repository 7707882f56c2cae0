//! GMM types: [`DiagGmm`], [`FullGmm`] and the enum [`Gmm`].
//!
//! Parameters are stored in f64 in the "normal" form (weights, means, variances or covariance
//! matrices); the quantities scoring needs (inverse variances, Cholesky factors of the covariances
//! and their inverses, log normalisers) are computed once in the constructor.

use std::f64::consts::PI;

use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView3, Axis};

use crate::error::{Error, Result};
use crate::linalg;
use crate::options::CovarianceType;

pub(crate) const LOG_2PI: f64 = 1.837_877_066_409_345_5; // ln(2π)

/// Raw Kaldi natural parameters exactly as read from a Kaldi model, kept so that a model read
/// from a Kaldi file is written back byte-identical. Dropped by every operation that changes the
/// model (a new model is built).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KaldiRaw {
    Diag {
        gconsts: Array1<f32>,
        weights: Array1<f32>,
        means_invvars: Array2<f32>,
        inv_vars: Array2<f32>,
    },
    Full {
        gconsts: Array1<f32>,
        weights: Array1<f32>,
        means_invcovars: Array2<f32>,
        inv_covars: Vec<Array2<f32>>,
    },
}

/// A diagonal-covariance GMM (Kaldi's `DiagGmm`).
///
/// ```
/// use cepstra_gmm::DiagGmm;
/// use ndarray::array;
/// let gmm = DiagGmm::new(array![0.5, 0.5], array![[0.0, 0.0], [3.0, 3.0]], array![[1.0, 1.0], [1.0, 2.0]])?;
/// let ll = gmm.log_likelihood(array![0.0f32, 0.0].view())?;
/// assert!(ll < 0.0);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DiagGmm {
    weights: Array1<f64>,
    means: Array2<f64>,
    vars: Array2<f64>,
    inv_vars: Array2<f64>,
    /// log w_k − ½·D·ln2π − ½·Σ ln var_kd
    log_norm: Array1<f64>,
    pub(crate) kaldi: Option<Box<KaldiRaw>>,
}

/// A full-covariance GMM (Kaldi's `FullGmm`).
///
/// ```
/// use cepstra_gmm::FullGmm;
/// use ndarray::{array, Array3};
/// let mut cov = Array3::<f64>::zeros((1, 2, 2));
/// cov[[0, 0, 0]] = 2.0; cov[[0, 1, 1]] = 1.0; cov[[0, 0, 1]] = 0.5; cov[[0, 1, 0]] = 0.5;
/// let gmm = FullGmm::new(array![1.0], array![[0.0, 1.0]], cov)?;
/// assert_eq!(gmm.num_gauss(), 1);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FullGmm {
    weights: Array1<f64>,
    means: Array2<f64>,
    covars: Array3<f64>,
    /// Lower Cholesky factor L_k of each covariance.
    chol: Array3<f64>,
    /// U_k = L_k⁻ᵀ (upper), so that ‖(x−μ)ᵀU_k‖² is the Mahalanobis distance.
    prec_chol: Array3<f64>,
    /// log w_k − ½·D·ln2π − Σ ln L_k,ii
    log_norm: Array1<f64>,
    pub(crate) kaldi: Option<Box<KaldiRaw>>,
}

/// A GMM of either covariance type.
#[derive(Debug, Clone, PartialEq)]
pub enum Gmm {
    /// Diagonal covariance.
    Diag(DiagGmm),
    /// Full covariance.
    Full(FullGmm),
}

fn check_common(weights: ArrayView1<f64>, means: ArrayView2<f64>) -> Result<()> {
    let k = weights.len();
    if k == 0 {
        return Err(Error::InvalidModel(
            "a GMM needs at least one component".into(),
        ));
    }
    if means.nrows() != k {
        return Err(Error::DimensionMismatch {
            what: "rows of the means vs number of weights",
            expected: k,
            got: means.nrows(),
        });
    }
    if means.ncols() == 0 {
        return Err(Error::InvalidModel("feature dimension is 0".into()));
    }
    for (i, &w) in weights.iter().enumerate() {
        if !(w >= 0.0) || !w.is_finite() {
            return Err(Error::InvalidModel(format!(
                "weight of component {i} is {w}"
            )));
        }
    }
    if !(weights.sum() > 0.0) {
        return Err(Error::InvalidModel("all weights are zero".into()));
    }
    if let Some(((i, _), m)) = means.indexed_iter().find(|(_, m)| !m.is_finite()) {
        return Err(Error::InvalidModel(format!("mean of component {i} is {m}")));
    }
    Ok(())
}

impl DiagGmm {
    /// A model from weights (K), means (K×D) and variances (K×D). Variances must be positive and
    /// finite; weights non-negative with a positive sum (they are used as given).
    pub fn new(weights: Array1<f64>, means: Array2<f64>, vars: Array2<f64>) -> Result<Self> {
        check_common(weights.view(), means.view())?;
        if vars.dim() != means.dim() {
            return Err(Error::DimensionMismatch {
                what: "shape of the variances vs the means",
                expected: means.len(),
                got: vars.len(),
            });
        }
        for ((k, d), &v) in vars.indexed_iter() {
            if !(v > 0.0) || !v.is_finite() {
                return Err(Error::InvalidModel(format!(
                    "variance of component {k}, dimension {d} is {v}: raise --var-floor"
                )));
            }
        }
        let inv_vars = vars.mapv(|v| 1.0 / v);
        let dim = means.ncols() as f64;
        let log_norm = Array1::from_iter(vars.outer_iter().zip(weights.iter()).map(|(v, &w)| {
            w.ln() - 0.5 * dim * LOG_2PI - 0.5 * v.iter().map(|x| x.ln()).sum::<f64>()
        }));
        Ok(Self {
            weights,
            means,
            vars,
            inv_vars,
            log_norm,
            kaldi: None,
        })
    }
    /// Number of components K.
    pub fn num_gauss(&self) -> usize {
        self.weights.len()
    }
    /// Feature dimension D.
    pub fn dim(&self) -> usize {
        self.means.ncols()
    }
    /// Mixture weights (K).
    pub fn weights(&self) -> ArrayView1<'_, f64> {
        self.weights.view()
    }
    /// Means (K×D).
    pub fn means(&self) -> ArrayView2<'_, f64> {
        self.means.view()
    }
    /// Variances (K×D).
    pub fn vars(&self) -> ArrayView2<'_, f64> {
        self.vars.view()
    }
    /// Inverse variances (K×D).
    pub fn inv_vars(&self) -> ArrayView2<'_, f64> {
        self.inv_vars.view()
    }
    /// ln w − ½·D·ln2π + ½·Σ ln invvar per component (the log-likelihood at the mean).
    pub(crate) fn log_norm(&self) -> ArrayView1<'_, f64> {
        self.log_norm.view()
    }
    /// Kaldi's gconsts: log-likelihood of each weighted component at x = 0
    /// (ln w − ½·D·ln2π + ½·Σ ln invvar − ½·Σ μ²·invvar).
    pub fn gconsts(&self) -> Array1<f64> {
        Array1::from_iter((0..self.num_gauss()).map(|k| {
            self.log_norm[k]
                - 0.5
                    * self
                        .means
                        .row(k)
                        .iter()
                        .zip(self.inv_vars.row(k))
                        .map(|(m, iv)| m * m * iv)
                        .sum::<f64>()
        }))
    }
    /// Number of free parameters (for BIC/AIC).
    pub fn num_params(&self) -> usize {
        let (k, d) = (self.num_gauss(), self.dim());
        k - 1 + 2 * k * d
    }
    /// The same model with full covariance matrices (`gmm-global-to-fgmm`).
    pub fn to_full(&self) -> FullGmm {
        let (k, d) = (self.num_gauss(), self.dim());
        let mut cov = Array3::zeros((k, d, d));
        for c in 0..k {
            for i in 0..d {
                cov[[c, i, i]] = self.vars[[c, i]];
            }
        }
        // Positive variances give a valid full model.
        FullGmm::new(self.weights.clone(), self.means.clone(), cov)
            .expect("diagonal positive variances are positive definite")
    }
}

impl FullGmm {
    /// A model from weights (K), means (K×D) and covariances (K×D×D, symmetric positive
    /// definite). Fails with [`Error::SingularCovariance`] when a covariance has no Cholesky factor.
    pub fn new(weights: Array1<f64>, means: Array2<f64>, mut covars: Array3<f64>) -> Result<Self> {
        check_common(weights.view(), means.view())?;
        let (k, d) = means.dim();
        if covars.dim() != (k, d, d) {
            return Err(Error::DimensionMismatch {
                what: "size of the covariances (K·D·D)",
                expected: k * d * d,
                got: covars.len(),
            });
        }
        let mut chol = Array3::zeros((k, d, d));
        let mut prec_chol = Array3::zeros((k, d, d));
        let mut log_norm = Array1::zeros(k);
        for c in 0..k {
            let mut cv = covars.index_axis(Axis(0), c).to_owned();
            if cv.iter().any(|x| !x.is_finite()) {
                return Err(Error::InvalidModel(format!(
                    "covariance of component {c} is not finite"
                )));
            }
            linalg::symmetrize(&mut cv);
            let l = linalg::cholesky(cv.view()).map_err(|pivot| Error::SingularCovariance {
                component: c,
                pivot,
                context: String::new(),
            })?;
            let li = linalg::invert_lower(l.view());
            log_norm[c] = weights[c].ln()
                - 0.5 * d as f64 * LOG_2PI
                - l.diag().iter().map(|x| x.ln()).sum::<f64>();
            chol.index_axis_mut(Axis(0), c).assign(&l);
            prec_chol.index_axis_mut(Axis(0), c).assign(&li.t());
            covars.index_axis_mut(Axis(0), c).assign(&cv);
        }
        Ok(Self {
            weights,
            means,
            covars,
            chol,
            prec_chol,
            log_norm,
            kaldi: None,
        })
    }
    /// Number of components K.
    pub fn num_gauss(&self) -> usize {
        self.weights.len()
    }
    /// Feature dimension D.
    pub fn dim(&self) -> usize {
        self.means.ncols()
    }
    /// Mixture weights (K).
    pub fn weights(&self) -> ArrayView1<'_, f64> {
        self.weights.view()
    }
    /// Means (K×D).
    pub fn means(&self) -> ArrayView2<'_, f64> {
        self.means.view()
    }
    /// Covariance matrices (K×D×D).
    pub fn covars(&self) -> ArrayView3<'_, f64> {
        self.covars.view()
    }
    /// Lower Cholesky factors of the covariances (K×D×D).
    pub fn cholesky(&self) -> ArrayView3<'_, f64> {
        self.chol.view()
    }
    /// U_k = L_k⁻ᵀ, the upper-triangular "precision Cholesky" factor (scikit-learn's
    /// `precisions_cholesky_`).
    pub fn precisions_cholesky(&self) -> ArrayView3<'_, f64> {
        self.prec_chol.view()
    }
    pub(crate) fn log_norm(&self) -> ArrayView1<'_, f64> {
        self.log_norm.view()
    }
    /// Inverse covariance of component k.
    pub fn inv_covar(&self, k: usize) -> Array2<f64> {
        let u = self.prec_chol.index_axis(Axis(0), k);
        let mut p = u.dot(&u.t());
        linalg::symmetrize(&mut p);
        p
    }
    /// Kaldi's gconsts (ln w − ½·D·ln2π − ½·ln|Σ| − ½·μᵀΣ⁻¹μ).
    pub fn gconsts(&self) -> Array1<f64> {
        Array1::from_iter((0..self.num_gauss()).map(|k| {
            let u = self.prec_chol.index_axis(Axis(0), k);
            let z = self.means.row(k).dot(&u);
            self.log_norm[k] - 0.5 * z.dot(&z)
        }))
    }
    /// Number of free parameters (for BIC/AIC).
    pub fn num_params(&self) -> usize {
        let (k, d) = (self.num_gauss(), self.dim());
        k - 1 + k * d + k * d * (d + 1) / 2
    }
    /// The diagonal model with the same means and the diagonals of the covariances
    /// (`fgmm-global-to-gmm`).
    pub fn to_diag(&self) -> DiagGmm {
        let vars = Array2::from_shape_fn((self.num_gauss(), self.dim()), |(k, i)| {
            self.covars[[k, i, i]]
        });
        DiagGmm::new(self.weights.clone(), self.means.clone(), vars)
            .expect("diagonal of a positive-definite matrix is positive")
    }
}

impl Gmm {
    /// Number of components K.
    pub fn num_gauss(&self) -> usize {
        match self {
            Gmm::Diag(g) => g.num_gauss(),
            Gmm::Full(g) => g.num_gauss(),
        }
    }
    /// Feature dimension D.
    pub fn dim(&self) -> usize {
        match self {
            Gmm::Diag(g) => g.dim(),
            Gmm::Full(g) => g.dim(),
        }
    }
    /// Covariance type.
    pub fn covariance_type(&self) -> CovarianceType {
        match self {
            Gmm::Diag(_) => CovarianceType::Diag,
            Gmm::Full(_) => CovarianceType::Full,
        }
    }
    /// Mixture weights.
    pub fn weights(&self) -> ArrayView1<'_, f64> {
        match self {
            Gmm::Diag(g) => g.weights(),
            Gmm::Full(g) => g.weights(),
        }
    }
    /// Means (K×D).
    pub fn means(&self) -> ArrayView2<'_, f64> {
        match self {
            Gmm::Diag(g) => g.means(),
            Gmm::Full(g) => g.means(),
        }
    }
    /// Kaldi's gconsts.
    pub fn gconsts(&self) -> Array1<f64> {
        match self {
            Gmm::Diag(g) => g.gconsts(),
            Gmm::Full(g) => g.gconsts(),
        }
    }
    /// Number of free parameters.
    pub fn num_params(&self) -> usize {
        match self {
            Gmm::Diag(g) => g.num_params(),
            Gmm::Full(g) => g.num_params(),
        }
    }
    /// Covariance matrices as K×D×D (diagonal ones expanded).
    pub fn covars_full(&self) -> Array3<f64> {
        match self {
            Gmm::Diag(g) => g.to_full().covars.clone(),
            Gmm::Full(g) => g.covars.clone(),
        }
    }
    /// Variances (K×D): the diagonals of the covariances.
    pub fn vars(&self) -> Array2<f64> {
        match self {
            Gmm::Diag(g) => g.vars.clone(),
            Gmm::Full(g) => g.to_diag().vars.clone(),
        }
    }
    /// Builds a model of `cov` type from normal parameters (K×D×D covariances; for diag only
    /// their diagonals are used).
    pub fn from_params(
        cov: CovarianceType,
        weights: Array1<f64>,
        means: Array2<f64>,
        covars: Array3<f64>,
    ) -> Result<Gmm> {
        match cov {
            CovarianceType::Full => Ok(Gmm::Full(FullGmm::new(weights, means, covars)?)),
            CovarianceType::Diag => {
                let (k, d) = means.dim();
                if covars.dim() != (k, d, d) {
                    return Err(Error::DimensionMismatch {
                        what: "size of the covariances (K·D·D)",
                        expected: k * d * d,
                        got: covars.len(),
                    });
                }
                let vars = Array2::from_shape_fn((k, d), |(c, i)| covars[[c, i, i]]);
                Ok(Gmm::Diag(DiagGmm::new(weights, means, vars)?))
            }
        }
    }
    pub(crate) fn check_dim(&self, d: usize) -> Result<()> {
        if d != self.dim() {
            return Err(Error::DimensionMismatch {
                what: "feature dimension vs model dimension",
                expected: self.dim(),
                got: d,
            });
        }
        Ok(())
    }
}

impl From<DiagGmm> for Gmm {
    fn from(g: DiagGmm) -> Self {
        Gmm::Diag(g)
    }
}
impl From<FullGmm> for Gmm {
    fn from(g: FullGmm) -> Self {
        Gmm::Full(g)
    }
}

#[allow(dead_code)]
pub(crate) fn log_2pi_check() -> f64 {
    (2.0 * PI).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2pi() {
        assert!((log_2pi_check() - LOG_2PI).abs() < 1e-15);
    }

    #[test]
    fn autotraits() {
        fn check<T: Send + Sync>() {}
        check::<DiagGmm>();
        check::<FullGmm>();
        check::<Gmm>();
    }
}
