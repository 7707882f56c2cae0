//! cepstra's JSON model format (see the module docs of [`crate::io`]).

use ndarray::{Array1, Array2, Array3, Axis};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{DiagGmm, FullGmm, Gmm};
use crate::options::CovarianceType;

/// The JSON model document.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ModelJson {
    format: String,
    version: u32,
    covariance: CovarianceType,
    num_gauss: usize,
    dim: usize,
    weights: Vec<f64>,
    means: Vec<Vec<f64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vars: Option<Vec<Vec<f64>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    covars: Option<Vec<Vec<Vec<f64>>>>,
}

/// JSON format name.
pub const JSON_FORMAT: &str = "cepstra-gmm";
/// JSON format version.
pub const JSON_VERSION: u32 = 1;

fn rows(a: &Array2<f64>) -> Vec<Vec<f64>> {
    a.outer_iter().map(|r| r.to_vec()).collect()
}

fn from_rows(v: &[Vec<f64>], k: usize, d: usize, what: &str) -> Result<Array2<f64>> {
    if v.len() != k || v.iter().any(|r| r.len() != d) {
        return Err(Error::Format {
            what: "model",
            reason: format!("JSON {what} must be {k}×{d}"),
        });
    }
    Ok(Array2::from_shape_fn((k, d), |(i, j)| v[i][j]))
}

/// The JSON text of a model.
pub fn model_to_json(gmm: &Gmm) -> Result<String> {
    let (k, d) = (gmm.num_gauss(), gmm.dim());
    let doc = ModelJson {
        format: JSON_FORMAT.into(),
        version: JSON_VERSION,
        covariance: gmm.covariance_type(),
        num_gauss: k,
        dim: d,
        weights: gmm.weights().to_vec(),
        means: rows(&gmm.means().to_owned()),
        vars: match gmm {
            Gmm::Diag(g) => Some(rows(&g.vars().to_owned())),
            Gmm::Full(_) => None,
        },
        covars: match gmm {
            Gmm::Diag(_) => None,
            Gmm::Full(g) => Some(
                g.covars()
                    .outer_iter()
                    .map(|c| rows(&c.to_owned()))
                    .collect(),
            ),
        },
    };
    let mut s = serde_json::to_string_pretty(&doc)?;
    s.push('\n');
    Ok(s)
}

/// A model's JSON document as serde reads it, e.g. inside a larger document (a model set's
/// classes) in the same pass: no text kept and parsed again. [`JsonModel::into_gmm`] checks
/// it and builds the model as [`model_from_json`] does, with the same messages.
///
/// ```
/// use cepstra_gmm::io::{model_from_json, model_to_json, JsonModel};
/// use cepstra_gmm::{DiagGmm, Gmm};
/// use ndarray::array;
/// let g = Gmm::from(DiagGmm::new(array![1.0], array![[0.5]], array![[2.0]])?);
/// let text = model_to_json(&g)?;
/// let doc: JsonModel = serde_json::from_str(&text).expect("a JSON model");
/// assert_eq!(doc.into_gmm()?, model_from_json(&text)?);
/// # Ok::<(), cepstra_gmm::Error>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct JsonModel(ModelJson);

impl JsonModel {
    /// The model, checked (format, version, shapes, a symmetric covariance, the model's own
    /// constructor's checks).
    ///
    /// # Errors
    /// As [`model_from_json`] for a document that parses.
    pub fn into_gmm(self) -> Result<Gmm> {
        model_from_doc(self.0)
    }
}

/// A model from its JSON text.
pub fn model_from_json(text: &str) -> Result<Gmm> {
    model_from_doc(serde_json::from_str(text)?)
}

fn model_from_doc(doc: ModelJson) -> Result<Gmm> {
    if doc.format != JSON_FORMAT {
        return Err(Error::Format {
            what: "model",
            reason: format!(
                "JSON \"format\" is {:?}, expected {JSON_FORMAT:?}",
                doc.format
            ),
        });
    }
    if doc.version != JSON_VERSION {
        return Err(Error::Format {
            what: "model",
            reason: format!(
                "JSON version {} is not supported (this build reads {JSON_VERSION})",
                doc.version
            ),
        });
    }
    let (k, d) = (doc.num_gauss, doc.dim);
    if doc.weights.len() != k {
        return Err(Error::Format {
            what: "model",
            reason: format!("{} weights for num_gauss {k}", doc.weights.len()),
        });
    }
    let means = from_rows(&doc.means, k, d, "means")?;
    let weights = Array1::from(doc.weights);
    match doc.covariance {
        CovarianceType::Diag => {
            let v = doc.vars.ok_or_else(|| Error::Format {
                what: "model",
                reason: "diag model without \"vars\"".into(),
            })?;
            Ok(Gmm::Diag(DiagGmm::new(
                weights,
                means,
                from_rows(&v, k, d, "vars")?,
            )?))
        }
        CovarianceType::Full => {
            let c = doc.covars.ok_or_else(|| Error::Format {
                what: "model",
                reason: "full model without \"covars\"".into(),
            })?;
            if c.len() != k {
                return Err(Error::Format {
                    what: "model",
                    reason: format!("{} covariance matrices for num_gauss {k}", c.len()),
                });
            }
            let mut cov = Array3::zeros((k, d, d));
            for (i, m) in c.iter().enumerate() {
                let m = from_rows(m, d, d, "covariance")?;
                check_symmetric(&m, i)?;
                cov.index_axis_mut(Axis(0), i).assign(&m);
            }
            Ok(Gmm::Full(FullGmm::new(weights, means, cov)?))
        }
    }
}

/// A covariance read from a file must be symmetric (to 1e-9 of the scale of its diagonal): an
/// asymmetric one is not a covariance, and scoring it would silently use only half of it.
fn check_symmetric(m: &Array2<f64>, component: usize) -> Result<()> {
    let d = m.nrows();
    for i in 0..d {
        for j in 0..i {
            let (a, b) = (m[[i, j]], m[[j, i]]);
            let scale = (m[[i, i]] * m[[j, j]]).abs().sqrt();
            if (a - b).abs() > 1e-9 * scale || !(a - b).is_finite() && a != b {
                return Err(Error::Format {
                    what: "model",
                    reason: format!(
                        "covariance of component {component} is not symmetric: entry ({i}, {j}) is {a} but ({j}, {i}) is {b}"
                    ),
                });
            }
        }
    }
    Ok(())
}
