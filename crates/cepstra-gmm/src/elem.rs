//! The element types of features and of the E-step GEMM: f32 and f64 (a sealed trait).

/// Element type of features and of the E-step GEMM (f32 or f64; sealed).
pub trait Elem:
    faer::traits::ComplexField
    + sealed::Sealed
    + Copy
    + Default
    + Send
    + Sync
    + 'static
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::AddAssign
{
    /// Whether this is f32 (the type of the SIMD whitening kernels).
    const IS_F32: bool;
    /// Conversion from f64 (rounding for f32).
    fn from_f64(x: f64) -> Self;
    /// Conversion to f64 (exact).
    fn to_f64(self) -> f64;
}

pub(crate) mod sealed {
    /// Scratch buffers of both element types: a pass in element type T takes its T buffers
    /// from here through [`Sealed::bufs`] (no transmute, no type test).
    #[derive(Default)]
    pub struct ElemBufs {
        pub(crate) f32s: [Vec<f32>; 2],
        pub(crate) f64s: [Vec<f64>; 2],
    }

    /// Only f32 and f64 implement [`super::Elem`].
    pub trait Sealed: Sized {
        /// The two scratch buffers of this element type.
        fn bufs(b: &mut ElemBufs) -> &mut [Vec<Self>; 2];
    }
    impl Sealed for f32 {
        fn bufs(b: &mut ElemBufs) -> &mut [Vec<f32>; 2] {
            &mut b.f32s
        }
    }
    impl Sealed for f64 {
        fn bufs(b: &mut ElemBufs) -> &mut [Vec<f64>; 2] {
            &mut b.f64s
        }
    }
}

impl Elem for f32 {
    const IS_F32: bool = true;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Elem for f64 {
    const IS_F32: bool = false;
    #[inline(always)]
    fn from_f64(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
}
