//! Kaldi compressed matrices: the `CM`, `CM2` and `CM3` objects written by
//! `copy-feats --compress=true` (Kaldi's `src/matrix/compressed-matrix.{h,cc}`).
//!
//! A [`CompressedMatrix`] holds the bytes exactly as Kaldi stores them, so reading and writing
//! are lossless, [`CompressedMatrix::new`] reproduces Kaldi's `CopyFromMat` byte for byte and
//! [`CompressedMatrix::to_matrix`] reproduces Kaldi's `CopyToMat` bit for bit (both checked
//! against files written by real Kaldi in `tests/compressed.rs`).
//!
//! # Binary layout
//!
//! After the archive's `\0B` comes a token, `CM ` (one byte per value with per-column
//! headers), `CM2 ` (two bytes per value) or `CM3 ` (one byte per value), then a 16-byte header
//! `{f32 min_value, f32 range, i32 num_rows, i32 num_cols}` (Kaldi's `GlobalHeader` without its
//! `format` field, which the token replaces), all little-endian, then:
//!
//! - `CM`: `num_cols` column headers of four `u16` (the 0th, 25th, 75th and 100th percentiles of
//!   the column, quantised on `[min_value, min_value + range]`), then the `u8` codes column by
//!   column. Codes 0..=64, 64..=192 and 192..=255 interpolate linearly between consecutive
//!   percentiles.
//! - `CM2`: `u16` codes row by row; value = `min_value + code * range / 65535`.
//! - `CM3`: `u8` codes row by row; value = `min_value + code * range / 255`.
//!
//! # Rounding
//!
//! Kaldi mixes `float` and `double` arithmetic (for instance `f * 65535 + 0.499` is a float
//! product followed by a double sum) and truncates with C's `static_cast<int>`; both are
//! reproduced here step by step, including what x86-64 does with out-of-range conversions, so
//! the codes agree even in degenerate columns.

use std::io::{BufRead, Write};

use ndarray::{Array2, ArrayView2};

use crate::{Error, Result};

/// How [`CompressedMatrix::new`] chooses the stored format and its value range
/// (Kaldi's `enum CompressionMethod`, same numbers as `--compression-method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompressionMethod {
    /// `SpeechFeature` when the matrix has more than 8 rows, `TwoByteAuto` otherwise.
    /// Kaldi's default (`kAutomaticMethod`).
    Auto = 1,
    /// One byte per value with per-column percentile headers (`CM`), for features whose
    /// columns have different ranges (`kSpeechFeature`).
    SpeechFeature = 2,
    /// Two bytes per value (`CM2`) on `[min, max]` of the whole matrix (`kTwoByteAuto`).
    TwoByteAuto = 3,
    /// Two bytes per value (`CM2`) on `[-32768, 32767]`, for 16-bit PCM
    /// (`kTwoByteSignedInteger`).
    TwoByte = 4,
    /// One byte per value (`CM3`) on `[min, max]` of the whole matrix (`kOneByteAuto`).
    OneByteAuto = 5,
    /// One byte per value (`CM3`) on `[0, 255]` (`kOneByteUnsignedInteger`).
    OneByteUint = 6,
    /// One byte per value (`CM3`) on `[0, 1]` (`kOneByteZeroOne`).
    OneByteZeroOne = 7,
}

impl CompressionMethod {
    /// The method with Kaldi's number `n` (`--compression-method=n`, 1 to 7).
    ///
    /// # Errors
    /// [`Error::Format`] when `n` is not between 1 and 7.
    pub fn from_kaldi(n: i32) -> Result<Self> {
        Ok(match n {
            1 => Self::Auto,
            2 => Self::SpeechFeature,
            3 => Self::TwoByteAuto,
            4 => Self::TwoByte,
            5 => Self::OneByteAuto,
            6 => Self::OneByteUint,
            7 => Self::OneByteZeroOne,
            _ => {
                return Err(Error::Format(format!(
                    "unknown compression method {n}: use 1 (auto), 2 (speech-feature), \
                     3 (two-byte-auto), 4 (two-byte-signed-integer), 5 (one-byte-auto), \
                     6 (one-byte-unsigned-integer) or 7 (one-byte-zero-one)"
                )))
            }
        })
    }

    /// Kaldi's number for this method.
    pub fn to_kaldi(self) -> i32 {
        self as i32
    }
}

/// Stored format of a compressed matrix (Kaldi's private `DataFormat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DataFormat {
    /// `CM`: per-column headers, then one byte per value, column-major.
    OneByteWithColHeaders = 1,
    /// `CM2`: two bytes per value, row-major.
    TwoByte = 2,
    /// `CM3`: one byte per value, row-major.
    OneByte = 3,
}

impl DataFormat {
    fn token(self) -> &'static str {
        match self {
            Self::OneByteWithColHeaders => "CM",
            Self::TwoByte => "CM2",
            Self::OneByte => "CM3",
        }
    }

    /// Bytes after the global header for a `rows` × `cols` matrix (Kaldi's `DataSize` minus the
    /// 20-byte header), or `None` if that does not fit in `usize`.
    fn data_len(self, rows: usize, cols: usize) -> Option<usize> {
        match self {
            Self::OneByteWithColHeaders => rows.checked_add(PER_COL_HEADER_LEN)?.checked_mul(cols),
            Self::TwoByte => rows.checked_mul(cols)?.checked_mul(2),
            Self::OneByte => rows.checked_mul(cols),
        }
    }
}

/// Bytes of one `PerColHeader` (four `u16` percentiles).
const PER_COL_HEADER_LEN: usize = 8;

/// Bytes of the global header as written to files (without the `format` field).
const HEADER_LEN: usize = 16;

/// A lossily compressed `f32` matrix in Kaldi's format, stored exactly as Kaldi stores it.
///
/// An empty matrix (no rows or no columns) is stored as 0 × 0, as in Kaldi.
///
/// # Example
/// ```
/// use cepstra_io::compressed::{CompressedMatrix, CompressionMethod};
/// use ndarray::Array2;
///
/// let feats = Array2::from_shape_fn((20, 3), |(t, d)| (t as f32 * 0.3).sin() * (d + 1) as f32);
/// let cm = CompressedMatrix::new(feats.view(), CompressionMethod::Auto);
/// let mut bytes = Vec::new();
/// cm.write(&mut bytes)?;                       // "CM " + header + data
/// assert_eq!(&bytes[..3], b"CM ");
///
/// let back = CompressedMatrix::read_after_token("CM", &mut &bytes[3..])?;
/// assert_eq!(back, cm);
/// let decoded = back.to_matrix();
/// assert_eq!(decoded.dim(), (20, 3));
/// assert!(decoded.iter().zip(feats.iter()).all(|(a, b)| (a - b).abs() < 0.05));
/// # Ok::<(), cepstra_io::Error>(())
/// ```
#[doc(alias = "CM")]
#[doc(alias = "CM2")]
#[doc(alias = "CM3")]
#[derive(Clone, Debug)]
pub struct CompressedMatrix {
    format: DataFormat,
    min_value: f32,
    range: f32,
    num_rows: usize,
    num_cols: usize,
    /// Everything after Kaldi's `GlobalHeader`, little-endian, `format.data_len(..)` bytes.
    data: Vec<u8>,
}

/// Equality of the stored bytes (header floats compared bit for bit).
impl PartialEq for CompressedMatrix {
    fn eq(&self, other: &Self) -> bool {
        self.format == other.format
            && self.min_value.to_bits() == other.min_value.to_bits()
            && self.range.to_bits() == other.range.to_bits()
            && self.num_rows == other.num_rows
            && self.num_cols == other.num_cols
            && self.data == other.data
    }
}

impl Eq for CompressedMatrix {}

impl Default for CompressedMatrix {
    /// The empty (0 × 0) matrix.
    fn default() -> Self {
        Self::empty()
    }
}

impl CompressedMatrix {
    fn empty() -> Self {
        Self {
            format: DataFormat::OneByteWithColHeaders,
            min_value: 0.0,
            range: 0.0,
            num_rows: 0,
            num_cols: 0,
            data: Vec::new(),
        }
    }

    /// Compresses `m` with `method`, exactly as Kaldi's `CompressedMatrix::CopyFromMat`.
    ///
    /// Kaldi refuses matrices with NaN or infinite values; here they do not panic: the value
    /// range is taken from the finite values and non-finite values get arbitrary codes. Use
    /// [`CompressedMatrix::try_new`] to reject them as Kaldi does. A matrix with no rows or no
    /// columns gives the empty matrix.
    ///
    /// # Panics
    /// If `m` has more than `i32::MAX` rows or columns (Kaldi's header cannot store them).
    pub fn new(m: ArrayView2<f32>, method: CompressionMethod) -> Self {
        let (rows, cols) = m.dim();
        assert!(
            i32::try_from(rows).is_ok() && i32::try_from(cols).is_ok(),
            "a compressed matrix has at most i32::MAX rows and columns, got {rows} x {cols}"
        );
        if rows == 0 || cols == 0 {
            return Self::empty();
        }
        let method = match method {
            CompressionMethod::Auto if rows > 8 => CompressionMethod::SpeechFeature,
            CompressionMethod::Auto => CompressionMethod::TwoByteAuto,
            other => other,
        };
        let format = match method {
            CompressionMethod::Auto | CompressionMethod::SpeechFeature => {
                DataFormat::OneByteWithColHeaders
            }
            CompressionMethod::TwoByteAuto | CompressionMethod::TwoByte => DataFormat::TwoByte,
            CompressionMethod::OneByteAuto
            | CompressionMethod::OneByteUint
            | CompressionMethod::OneByteZeroOne => DataFormat::OneByte,
        };
        let (min_value, range) = match method {
            CompressionMethod::TwoByte => (-32768.0, 65535.0),
            CompressionMethod::OneByteUint => (0.0, 255.0),
            CompressionMethod::OneByteZeroOne => (0.0, 1.0),
            _ => auto_range(m),
        };
        let q = Quantiser { min_value, range };
        let mut data = Vec::with_capacity(format.data_len(rows, cols).unwrap_or(0));
        match format {
            DataFormat::OneByteWithColHeaders => {
                let mut codes = Vec::with_capacity(rows * cols);
                for column in m.columns() {
                    let col: Vec<f32> = column.to_vec();
                    let pct = q.column_header(&col);
                    for p in pct {
                        data.extend_from_slice(&p.to_le_bytes());
                    }
                    let [p0, p25, p75, p100] = pct.map(|p| q.uint16_to_float(p));
                    codes.extend(col.iter().map(|&v| float_to_char(p0, p25, p75, p100, v)));
                }
                data.extend_from_slice(&codes);
            }
            DataFormat::TwoByte => {
                for &v in m.rows().into_iter().flatten() {
                    data.extend_from_slice(&q.float_to_uint16(v).to_le_bytes());
                }
            }
            DataFormat::OneByte => {
                data.extend(m.rows().into_iter().flatten().map(|&v| q.float_to_uint8(v)));
            }
        }
        Self {
            format,
            min_value,
            range,
            num_rows: rows,
            num_cols: cols,
            data,
        }
    }

    /// As [`CompressedMatrix::new`], but refuses NaN and infinite values, as Kaldi does.
    ///
    /// # Errors
    /// [`Error::Format`] naming the first non-finite element.
    pub fn try_new(m: ArrayView2<f32>, method: CompressionMethod) -> Result<Self> {
        if let Some(((r, c), v)) = m.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::Format(format!(
                "cannot compress a matrix with NaN or infinite values: element ({r}, {c}) is \
                 {v}; fix the features or write them uncompressed"
            )));
        }
        Ok(Self::new(m, method))
    }

    /// Number of rows (0 for the empty matrix).
    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// Number of columns (0 for the empty matrix).
    pub fn num_cols(&self) -> usize {
        self.num_cols
    }

    /// The token this matrix is written with: `"CM"`, `"CM2"` or `"CM3"`.
    pub fn token(&self) -> &'static str {
        self.format.token()
    }

    /// Decompresses, bit for bit as Kaldi's `CompressedMatrix::CopyToMat` into a
    /// `Matrix<float>` (a `Matrix<double>` gets the same values widened).
    pub fn to_matrix(&self) -> Array2<f32> {
        let (rows, cols) = (self.num_rows, self.num_cols);
        let mut out = Array2::<f32>::zeros((rows, cols));
        if rows == 0 || cols == 0 {
            return out;
        }
        match self.format {
            DataFormat::OneByteWithColHeaders => {
                let (headers, codes) = self.data.split_at(cols * PER_COL_HEADER_LEN);
                let q = Quantiser {
                    min_value: self.min_value,
                    range: self.range,
                };
                for ((h, col_codes), mut col) in headers
                    .chunks_exact(PER_COL_HEADER_LEN)
                    .zip(codes.chunks_exact(rows))
                    .zip(out.columns_mut())
                {
                    let p =
                        |i: usize| q.uint16_to_float(u16::from_le_bytes([h[2 * i], h[2 * i + 1]]));
                    let (p0, p25, p75, p100) = (p(0), p(1), p(2), p(3));
                    for (o, &code) in col.iter_mut().zip(col_codes) {
                        *o = char_to_float(p0, p25, p75, p100, code);
                    }
                }
            }
            DataFormat::TwoByte => {
                // Kaldi: `float increment = range * (1.0 / 65535.0)` (a double product).
                let increment = (f64::from(self.range) * (1.0 / 65535.0)) as f32;
                for (o, b) in out.iter_mut().zip(self.data.chunks_exact(2)) {
                    let code = u16::from_le_bytes([b[0], b[1]]);
                    *o = self.min_value + f32::from(code) * increment;
                }
            }
            DataFormat::OneByte => {
                let increment = (f64::from(self.range) * (1.0 / 255.0)) as f32;
                for (o, &code) in out.iter_mut().zip(&self.data) {
                    *o = self.min_value + f32::from(code) * increment;
                }
            }
        }
        out
    }

    /// Reads the body of a binary compressed matrix whose token (`"CM"`, `"CM2"` or `"CM3"`,
    /// and the space after it) has already been consumed. Kaldi has no text form of a compressed
    /// matrix (text mode writes an ordinary matrix).
    ///
    /// A header with no columns gives the empty matrix after its 16 bytes, as in Kaldi.
    ///
    /// # Errors
    /// [`Error::Format`] for an unknown token, negative sizes, or fewer bytes than the header
    /// announces (checked while reading, before any allocation of the announced size);
    /// [`Error::Io`] for other read errors.
    pub fn read_after_token<R: BufRead>(token: &str, r: &mut R) -> Result<Self> {
        let format = match token {
            "CM" => DataFormat::OneByteWithColHeaders,
            "CM2" => DataFormat::TwoByte,
            "CM3" => DataFormat::OneByte,
            _ => {
                return Err(Error::Format(format!(
                    "unexpected token {token:?} for a compressed matrix: expected CM, CM2 or CM3"
                )))
            }
        };
        let mut header = [0u8; HEADER_LEN];
        read_bytes(r, &mut header, token)?;
        let word = |i: usize| [header[i], header[i + 1], header[i + 2], header[i + 3]];
        let min_value = f32::from_le_bytes(word(0));
        let range = f32::from_le_bytes(word(4));
        let raw_rows = i32::from_le_bytes(word(8));
        let raw_cols = i32::from_le_bytes(word(12));
        let (Ok(num_rows), Ok(num_cols)) = (usize::try_from(raw_rows), usize::try_from(raw_cols))
        else {
            return Err(Error::Format(format!(
                "{token} compressed matrix has a negative size {raw_rows} x {raw_cols}: the \
                 file is corrupt"
            )));
        };
        if num_cols == 0 {
            return Ok(Self::empty());
        }
        let len = format.data_len(num_rows, num_cols).ok_or_else(|| {
            Error::Format(format!(
                "{token} compressed matrix of {num_rows} x {num_cols} is too large for this \
                 machine: the file is corrupt"
            ))
        })?;
        let data = read_exactly(r, len, token, num_rows, num_cols)?;
        Ok(Self {
            format,
            min_value,
            range,
            num_rows,
            num_cols,
            data,
        })
    }

    /// Writes the token (`CM `, `CM2 ` or `CM3 `) and the body in Kaldi's binary form; the
    /// caller has written the `\0B` binary marker.
    ///
    /// The empty matrix is written as `CM ` and a 16-byte all-zero header. (Kaldi writes 20
    /// bytes there, the first 4 uninitialised, and reads back only 16; both readers accept
    /// these 16.)
    ///
    /// # Errors
    /// [`Error::Io`] for a write error of `w`.
    pub fn write<W: Write>(&self, w: &mut W) -> Result<()> {
        let mut head = Vec::with_capacity(4 + HEADER_LEN);
        head.extend_from_slice(self.format.token().as_bytes());
        head.push(b' ');
        head.extend_from_slice(&self.min_value.to_le_bytes());
        head.extend_from_slice(&self.range.to_le_bytes());
        // Sizes come from `new` (checked) or from a file (read as i32), so they fit.
        head.extend_from_slice(&(self.num_rows as i32).to_le_bytes());
        head.extend_from_slice(&(self.num_cols as i32).to_le_bytes());
        w.write_all(&head)?;
        w.write_all(&self.data)?;
        Ok(())
    }
}

/// Fills `buf`, failing with a clear message at end of input.
fn read_bytes<R: BufRead>(r: &mut R, buf: &mut [u8], token: &str) -> Result<()> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::Format(format!(
                "{token} compressed matrix: the input ends inside its {}-byte header: the file \
                 is truncated or not a Kaldi archive",
                buf.len()
            ))
        } else {
            Error::from(e)
        }
    })
}

/// Reads `len` bytes, growing the buffer only as bytes arrive, so a corrupt header announcing
/// gigabytes cannot make us allocate them.
fn read_exactly<R: BufRead>(
    r: &mut R,
    len: usize,
    token: &str,
    rows: usize,
    cols: usize,
) -> Result<Vec<u8>> {
    let mut data = Vec::with_capacity(len.min(1 << 16));
    while data.len() < len {
        let buf = match r.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::from(e)),
        };
        if buf.is_empty() {
            return Err(Error::Format(format!(
                "{token} compressed matrix of {rows} x {cols} needs {len} data bytes but the \
                 input ends after {}: the file is truncated or corrupt",
                data.len()
            )));
        }
        let n = buf.len().min(len - data.len());
        data.extend_from_slice(&buf[..n]);
        r.consume(n);
    }
    Ok(data)
}

/// Kaldi's `min_value` and `range` for the automatic methods: the matrix minimum and maximum,
/// widened when the matrix is constant. Only finite values count (Kaldi asserts there are
/// no others).
fn auto_range(m: ArrayView2<f32>) -> (f32, f32) {
    let (mut min_value, mut max_value) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in m.iter().filter(|v| v.is_finite()) {
        min_value = min_value.min(v);
        max_value = max_value.max(v);
    }
    if min_value > max_value {
        (min_value, max_value) = (0.0, 0.0);
    }
    if max_value == min_value {
        // `max_value = min_value + (1.0 + fabs(min_value))`: a double sum stored in a float.
        max_value = (f64::from(min_value) + (1.0 + f64::from(min_value.abs()))) as f32;
    }
    (min_value, max_value - min_value)
}

/// C's `static_cast<int>(double)` as x86-64 executes it (`cvttsd2si`): truncation toward
/// zero, and `INT_MIN` for NaN and out-of-range values.
fn trunc_to_i32(x: f64) -> i32 {
    if x.is_nan() || x >= 2_147_483_648.0 || x <= -2_147_483_649.0 {
        i32::MIN
    } else {
        x as i32
    }
}

/// The global header's quantisation of values to `u16`/`u8` codes.
#[derive(Clone, Copy)]
struct Quantiser {
    min_value: f32,
    range: f32,
}

impl Quantiser {
    /// Kaldi's `(value - min) / range` clamped to `[0, 1]` (NaN passes through, as in Kaldi).
    fn fraction(self, value: f32) -> f32 {
        ((value - self.min_value) / self.range).clamp(0.0, 1.0)
    }

    /// Kaldi's `FloatToUint16`: `static_cast<int>(f * 65535 + 0.499)` then narrowed to `uint16`.
    fn float_to_uint16(self, value: f32) -> u16 {
        trunc_to_i32(f64::from(self.fraction(value) * 65535.0) + 0.499) as u16
    }

    /// Kaldi's `FloatToUint8`.
    fn float_to_uint8(self, value: f32) -> u8 {
        trunc_to_i32(f64::from(self.fraction(value) * 255.0) + 0.499) as u8
    }

    /// Kaldi's `Uint16ToFloat`: `min + range * 1.52590218966964e-05F * value`, all in float.
    fn uint16_to_float(self, value: u16) -> f32 {
        self.min_value + self.range * 1.525_902_2e-5_f32 * f32::from(value)
    }

    /// Kaldi's `ComputeColHeader`: the quantised 0th, 25th, 75th and 100th percentiles of one
    /// column, forced to increase strictly.
    fn column_header(self, col: &[f32]) -> [u16; 4] {
        let mut sorted = col.to_vec();
        // The order statistics Kaldi picks with `nth_element` are those of the sorted column.
        sorted.sort_unstable_by(f32::total_cmp);
        let n = sorted.len();
        let q = |i: usize| self.float_to_uint16(sorted[i]);
        let p0 = q(0).min(65532);
        if n >= 5 {
            let quarter = n / 4;
            let p25 = q(quarter).max(p0 + 1).min(65533);
            let p75 = q(3 * quarter).max(p25 + 1).min(65534);
            let p100 = q(n - 1).max(p75 + 1);
            [p0, p25, p75, p100]
        } else {
            // Kaldi's "pathological case": the sorted values themselves.
            let p25 = if n > 1 {
                q(1).max(p0 + 1).min(65533)
            } else {
                p0 + 1
            };
            let p75 = if n > 2 {
                q(2).max(p25 + 1).min(65534)
            } else {
                p25 + 1
            };
            let p100 = if n > 3 { q(3).max(p75 + 1) } else { p75 + 1 };
            [p0, p25, p75, p100]
        }
    }
}

/// Kaldi's `FloatToChar`: codes 0..=64 on `[p0, p25)`, 64..=192 on `[p25, p75)`, 192..=255 on
/// `[p75, p100]`, each `static_cast<int>(f * k + 0.5)` with a float product and a double sum.
fn float_to_char(p0: f32, p25: f32, p75: f32, p100: f32, value: f32) -> u8 {
    let code = |lo: f32, hi: f32, steps: f32| {
        let f = (value - lo) / (hi - lo);
        trunc_to_i32(f64::from(f * steps) + 0.5)
    };
    let ans = if value < p25 {
        code(p0, p25, 64.0).clamp(0, 64)
    } else if value < p75 {
        64i32.wrapping_add(code(p25, p75, 128.0)).clamp(64, 192)
    } else {
        192i32.wrapping_add(code(p75, p100, 63.0)).clamp(192, 255)
    };
    ans as u8
}

/// Kaldi's `CharToFloat`: `p0 + (p25 - p0) * value * (1/64.0)` and so on, where the first
/// product is in float and the rest in double, rounded to float at the end.
fn char_to_float(p0: f32, p25: f32, p75: f32, p100: f32, value: u8) -> f32 {
    let (lo, hi, steps, scale) = match value {
        0..=64 => (p0, p25, i32::from(value), 1.0 / 64.0),
        65..=192 => (p25, p75, i32::from(value) - 64, 1.0 / 128.0),
        _ => (p75, p100, i32::from(value) - 192, 1.0 / 63.0),
    };
    (f64::from(lo) + f64::from((hi - lo) * steps as f32) * scale) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn autotraits() {
        fn check<T: Send + Sync + Unpin>() {}
        check::<CompressedMatrix>();
        check::<CompressionMethod>();
    }

    #[test]
    fn from_kaldi_numbers() {
        for n in 1..=7 {
            let m = CompressionMethod::from_kaldi(n).expect("valid method");
            assert_eq!(m.to_kaldi(), n);
        }
        for n in [0, 8, -1, i32::MAX] {
            assert!(matches!(
                CompressionMethod::from_kaldi(n),
                Err(Error::Format(_))
            ));
        }
    }

    #[test]
    fn auto_picks_by_rows() {
        let small = Array2::<f32>::zeros((8, 2));
        let big = Array2::<f32>::zeros((9, 2));
        assert_eq!(
            CompressedMatrix::new(small.view(), CompressionMethod::Auto).token(),
            "CM2"
        );
        assert_eq!(
            CompressedMatrix::new(big.view(), CompressionMethod::Auto).token(),
            "CM"
        );
    }

    #[test]
    fn empty_round_trip() {
        for shape in [(0, 0), (0, 3), (4, 0)] {
            let cm = CompressedMatrix::new(Array2::zeros(shape).view(), CompressionMethod::Auto);
            assert_eq!((cm.num_rows(), cm.num_cols()), (0, 0));
            let mut bytes = Vec::new();
            cm.write(&mut bytes).expect("write to Vec");
            assert_eq!(bytes, b"CM \0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
            let back = CompressedMatrix::read_after_token("CM", &mut &bytes[3..]).expect("read");
            assert_eq!(back, cm);
            assert_eq!(back.to_matrix().dim(), (0, 0));
        }
    }

    #[test]
    fn non_finite_does_not_panic() {
        let m = array![
            [1.0, f32::NAN],
            [f32::INFINITY, -2.0],
            [0.5, f32::NEG_INFINITY]
        ];
        for n in 1..=7 {
            let method = CompressionMethod::from_kaldi(n).expect("valid method");
            let cm = CompressedMatrix::new(m.view(), method);
            assert_eq!(cm.to_matrix().dim(), (3, 2));
            assert!(matches!(
                CompressedMatrix::try_new(m.view(), method),
                Err(Error::Format(_))
            ));
        }
    }

    #[test]
    fn bad_headers_are_errors() {
        let mut header = Vec::new();
        header.extend_from_slice(&0f32.to_le_bytes());
        header.extend_from_slice(&1f32.to_le_bytes());
        header.extend_from_slice(&(-1i32).to_le_bytes());
        header.extend_from_slice(&3i32.to_le_bytes());
        let err = CompressedMatrix::read_after_token("CM", &mut header.as_slice());
        assert!(matches!(err, Err(Error::Format(_))));
        // Huge announced size with no data: an error, not an allocation.
        header[8..12].copy_from_slice(&i32::MAX.to_le_bytes());
        header[12..16].copy_from_slice(&i32::MAX.to_le_bytes());
        for token in ["CM", "CM2", "CM3"] {
            let err = CompressedMatrix::read_after_token(token, &mut header.as_slice());
            assert!(matches!(err, Err(Error::Format(_))));
        }
        let err = CompressedMatrix::read_after_token("FM", &mut header.as_slice());
        assert!(matches!(err, Err(Error::Format(_))));
        let err = CompressedMatrix::read_after_token("CM", &mut &header[..10]);
        assert!(matches!(err, Err(Error::Format(_))));
    }

    #[test]
    fn kaldi_constant_is_the_same_float() {
        // Kaldi writes 1.52590218966964e-05F; the shorter literal here rounds to the same f32.
        let kaldi: f32 = "1.52590218966964e-05".parse().expect("float literal");
        assert_eq!(kaldi.to_bits(), 1.525_902_2e-5_f32.to_bits());
    }

    #[test]
    fn trunc_matches_x86() {
        assert_eq!(trunc_to_i32(2.7), 2);
        assert_eq!(trunc_to_i32(-2.7), -2);
        assert_eq!(trunc_to_i32(f64::NAN), i32::MIN);
        assert_eq!(trunc_to_i32(f64::INFINITY), i32::MIN);
        assert_eq!(trunc_to_i32(-2_147_483_648.5), i32::MIN);
        assert_eq!(trunc_to_i32(2_147_483_647.9), i32::MAX);
    }

    #[test]
    fn column_header_constant_column() {
        let q = Quantiser {
            min_value: 1.0,
            range: 2.0,
        };
        for n in 1..8 {
            let col = vec![3.0; n];
            let h = q.column_header(&col);
            assert!(h[0] < h[1] && h[1] < h[2] && h[2] < h[3], "{h:?}");
        }
    }
}
