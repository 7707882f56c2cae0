//! Scratch buffers of a chunk pass (per thread, reused across calls: no allocation, zeroing or
//! page faults per chunk) and the pool of chunk accumulators.

use std::cell::RefCell;
use std::sync::Mutex;

use crate::elem::sealed::ElemBufs;

/// The buffers of one chunk pass, each grown on demand and never shrunk (stale contents: every
/// element used is written first).
#[derive(Default)]
pub(crate) struct Scratch {
    /// Component log-likelihoods, then posteriors (B×lk).
    pub ll: Vec<f64>,
    /// Frame rows for the M-step: [x, x², 1] (diag) or [x, 1] (full).
    pub xr: Vec<f64>,
    /// Weighted frames of one SYRK call (full M-step).
    pub wk: Vec<f64>,
    /// Centred f32 frames (rows) and their transpose (the whitening kernels).
    pub xsf: Vec<f32>,
    pub xt: Vec<f32>,
    /// The dense full E-step's [x − c, 1] rows and product, in the element type.
    pub elem: ElemBufs,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers.
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut s = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
    let r = f(&mut s);
    SCRATCH.with(|slot| *slot.borrow_mut() = s);
    r
}

/// `len` elements of `v`, growing it when needed (stale contents).
pub(crate) fn grow<E: Copy + Default>(v: &mut Vec<E>, len: usize) -> &mut [E] {
    if v.len() < len {
        v.resize(len, E::default());
    }
    &mut v[..len]
}

/// Pool of chunk accumulators (handed to the consumer, given back with [`recycle_acc`]).
static ACC_POOL: Mutex<Vec<Vec<f64>>> = Mutex::new(Vec::new());

/// A zeroed accumulator of `len` values (from the pool when one is there).
pub(crate) fn take_acc(len: usize) -> Vec<f64> {
    let v = ACC_POOL.lock().ok().and_then(|mut p| p.pop());
    match v {
        Some(mut v) => {
            v.clear();
            v.resize(len, 0.0);
            v
        }
        None => vec![0.0; len],
    }
}

/// Gives a chunk accumulator back to the pool.
pub(crate) fn recycle_acc(v: Vec<f64>) {
    if let Ok(mut p) = ACC_POOL.lock() {
        if p.len() < 16 {
            p.push(v);
        }
    }
}
