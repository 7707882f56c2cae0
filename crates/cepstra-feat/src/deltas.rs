//! Delta and delta-delta features (Kaldi's `DeltaFeatures`, `add-deltas`).

use ndarray::{Array2, ArrayView2};

use crate::{DeltaFeaturesOptions, Error, Result};

/// Precomputed delta filters: order 0 is the identity, order `i` is the order `i-1` filter
/// convolved with the regression filter `j / Σj²`, `j = -window..=window`. So ΔΔ is one 9-tap
/// filter on the static features (not a regression on the Δ stream, as HTK does); frames past
/// either end are replaced by the first or last frame.
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaFeatures {
    opts: DeltaFeaturesOptions,
    scales: Vec<Vec<f32>>,
}

impl DeltaFeatures {
    /// Builds the filters.
    ///
    /// # Errors
    /// [`Error::DeltaOptions`] unless `order < 1000` and `1 <= window < 1000` (Kaldi's checks).
    pub fn new(opts: &DeltaFeaturesOptions) -> Result<Self> {
        if opts.order >= 1000 || opts.window == 0 || opts.window >= 1000 {
            return Err(Error::DeltaOptions {
                order: opts.order,
                window: opts.window,
            });
        }
        let w = opts.window as i64;
        let mut scales = vec![vec![1.0f32]];
        for i in 1..=opts.order {
            let prev = &scales[i - 1];
            let prev_offset = (prev.len() as i64 - 1) / 2;
            let cur_offset = prev_offset + w;
            let mut cur = vec![0.0f32; prev.len() + 2 * opts.window];
            let mut normalizer = 0.0f32;
            for j in -w..=w {
                normalizer += (j * j) as f32;
                for k in -prev_offset..=prev_offset {
                    cur[(j + k + cur_offset) as usize] +=
                        j as f32 * prev[(k + prev_offset) as usize];
                }
            }
            let inv = (1.0 / f64::from(normalizer)) as f32;
            for c in cur.iter_mut() {
                *c *= inv;
            }
            scales.push(cur);
        }
        Ok(Self {
            opts: opts.clone(),
            scales,
        })
    }

    /// The filter of each order (`scales()[i]` has `2·i·window + 1` taps, centre in the middle).
    pub fn scales(&self) -> &[Vec<f32>] {
        &self.scales
    }

    /// Output dimension for input dimension `dim`: `dim · (order + 1)`.
    pub fn output_dim(&self, dim: usize) -> usize {
        dim * (self.opts.order + 1)
    }

    /// Statics followed by each delta order for every frame of `feats`.
    pub fn process(&self, feats: ArrayView2<'_, f32>) -> Array2<f32> {
        let (n, dim) = feats.dim();
        let mut out = Array2::<f32>::zeros((n, self.output_dim(dim)));
        if n == 0 {
            return out;
        }
        for (t, mut row) in out.rows_mut().into_iter().enumerate() {
            for (i, scales) in self.scales.iter().enumerate() {
                let max_offset = (scales.len() as i64 - 1) / 2;
                let mut block = row.slice_mut(ndarray::s![i * dim..(i + 1) * dim]);
                for j in -max_offset..=max_offset {
                    let src = (t as i64 + j).clamp(0, n as i64 - 1) as usize;
                    let scale = scales[(j + max_offset) as usize];
                    if scale != 0.0 {
                        block.zip_mut_with(&feats.row(src), |o, &x| *o += scale * x);
                    }
                }
            }
        }
        out
    }
}

/// Appends delta features to `feats` (Kaldi's `ComputeDeltas` / `add-deltas`): the output has
/// `dim · (order + 1)` columns, statics first.
///
/// ```
/// use cepstra_feat::{compute_deltas, DeltaFeaturesOptions};
/// use ndarray::Array2;
/// let feats = Array2::from_shape_fn((10, 13), |(t, d)| (t * d) as f32);
/// let out = compute_deltas(&DeltaFeaturesOptions::default(), feats.view())?;
/// assert_eq!(out.dim(), (10, 39));
/// // a linear ramp has slope d per frame in the middle, and zero acceleration
/// assert!((out[[5, 13 + 4]] - 4.0).abs() < 1e-5 && out[[5, 26 + 4]].abs() < 1e-5);
/// # Ok::<(), cepstra_feat::Error>(())
/// ```
///
/// # Errors
/// [`Error::DeltaOptions`] for invalid options.
pub fn compute_deltas(
    opts: &DeltaFeaturesOptions,
    feats: ArrayView2<'_, f32>,
) -> Result<Array2<f32>> {
    Ok(DeltaFeatures::new(opts)?.process(feats))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaldi_filters() {
        let d = DeltaFeatures::new(&DeltaFeaturesOptions::default()).expect("valid");
        let s = d.scales();
        assert_eq!(s[1], vec![-0.2, -0.1, 0.0, 0.1, 0.2]);
        // Δ filter convolved with itself: (1/100)·[4, 4, 1, -4, -10, -4, 1, 4, 4]
        let want = [4.0, 4.0, 1.0, -4.0, -10.0, -4.0, 1.0, 4.0, 4.0];
        assert_eq!(s[2].len(), 9);
        for (a, b) in s[2].iter().zip(want) {
            assert!((a - b / 100.0).abs() < 1e-7);
        }
    }

    #[test]
    fn invalid_options() {
        for (order, window) in [(2, 0), (1000, 2), (2, 1000)] {
            assert_eq!(
                DeltaFeatures::new(&DeltaFeaturesOptions { order, window }),
                Err(Error::DeltaOptions { order, window })
            );
        }
    }

    #[test]
    fn edges_replicate() {
        let feats = Array2::from_shape_vec((3, 1), vec![1.0f32, 2.0, 4.0]).expect("shape");
        let out = compute_deltas(
            &DeltaFeaturesOptions {
                order: 1,
                window: 1,
            },
            feats.view(),
        )
        .expect("valid");
        // window 1: (x[t+1] - x[t-1]) / 2 with clamping
        assert_eq!(out.column(1).to_vec(), vec![0.5, 1.5, 1.0]);
        let empty = Array2::<f32>::zeros((0, 4));
        assert_eq!(
            compute_deltas(&DeltaFeaturesOptions::default(), empty.view())
                .expect("valid")
                .dim(),
            (0, 12)
        );
    }
}
