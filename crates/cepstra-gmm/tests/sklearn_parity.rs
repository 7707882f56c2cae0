//! Parity with scikit-learn's GaussianMixture (tests/data/sklearn, see its README).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use cepstra_gmm::{fit_from_f64, CovarianceType, EstimateOptions, FitOptions, Gmm};
use ndarray::{Array1, Array2, Array3};
use serde_json::Value;

fn arr2(v: &Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).unwrap();
    Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, j)| rows[i][j])
}

fn rel(a: f64, b: f64, scale: f64) -> f64 {
    (a - b).abs() / b.abs().max(scale)
}

#[test]
fn ten_em_iterations_match_sklearn() {
    for cov in ["diag", "full"] {
        let path = format!(
            "{}/tests/data/sklearn/{cov}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let x = arr2(&doc["data"]);
        let (k, d) = (3, x.ncols());
        let w: Vec<f64> = serde_json::from_value(doc["init"]["weights"].clone()).unwrap();
        let means = arr2(&doc["init"]["means"]);
        let ct = if cov == "diag" {
            CovarianceType::Diag
        } else {
            CovarianceType::Full
        };
        let mut covs = Array3::zeros((k, d, d));
        if cov == "diag" {
            let v = arr2(&doc["init"]["covars"]);
            for c in 0..k {
                for i in 0..d {
                    covs[[c, i, i]] = v[[c, i]];
                }
            }
        } else {
            let v: Vec<Vec<Vec<f64>>> =
                serde_json::from_value(doc["init"]["covars"].clone()).unwrap();
            for c in 0..k {
                for i in 0..d {
                    for j in 0..d {
                        covs[[c, i, j]] = v[c][i][j];
                    }
                }
            }
        }
        let init = Gmm::from_params(ct, Array1::from(w), means, covs).unwrap();
        let opts = FitOptions {
            num_iters: 10,
            tol: 0.0,
            estimate: EstimateOptions {
                reg_covar: doc["reg_covar"].as_f64().unwrap(),
                ..EstimateOptions::no_floors()
            },
            ..Default::default()
        };
        let (g, rep) = fit_from_f64(x.view(), init, &opts).unwrap();
        let lbs: Vec<f64> = serde_json::from_value(doc["lower_bounds"].clone()).unwrap();
        assert_eq!(rep.loglikes.len(), 10);
        let mut worst_ll = 0.0f64;
        for (a, b) in rep.loglikes.iter().zip(&lbs) {
            worst_ll = worst_ll.max(rel(*a, *b, 0.0));
        }
        let score = doc["final"]["score"].as_f64().unwrap();
        worst_ll = worst_ll.max(rel(rep.final_loglike, score, 0.0));
        assert!(
            worst_ll < 1e-9,
            "{cov}: LL relative difference {worst_ll:e}"
        );
        let fw: Vec<f64> = serde_json::from_value(doc["final"]["weights"].clone()).unwrap();
        let fm = arr2(&doc["final"]["means"]);
        let mut worst_p = 0.0f64;
        for c in 0..k {
            worst_p = worst_p.max(rel(g.weights()[c], fw[c], 0.0));
            for i in 0..d {
                worst_p = worst_p.max(rel(g.means()[[c, i]], fm[[c, i]], 1e-3));
            }
        }
        let gc = g.covars_full();
        if cov == "diag" {
            let fv = arr2(&doc["final"]["covars"]);
            for c in 0..k {
                for i in 0..d {
                    worst_p = worst_p.max(rel(gc[[c, i, i]], fv[[c, i]], 0.0));
                }
            }
        } else {
            let fv: Vec<Vec<Vec<f64>>> =
                serde_json::from_value(doc["final"]["covars"].clone()).unwrap();
            for c in 0..k {
                for i in 0..d {
                    for j in 0..d {
                        worst_p =
                            worst_p.max(rel(gc[[c, i, j]], fv[c][i][j], 1e-3 * gc[[c, i, i]]));
                    }
                }
            }
        }
        eprintln!("{cov}: worst relative difference: LL {worst_ll:.2e}, parameters {worst_p:.2e}");
        assert!(
            worst_p < 1e-6,
            "{cov}: parameter relative difference {worst_p:e}"
        );
    }
}
