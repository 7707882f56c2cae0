//! Kaldi's basic object I/O (`base/io-funcs`, `matrix/kaldi-matrix` Read/Write): tokens, integers,
//! floats, vectors, matrices and packed symmetric matrices, in Kaldi's binary and text forms.
//!
//! Conventions, as Kaldi's:
//! - A binary stream starts with `"\0B"` ([`read_binary_flag`]); a text stream does not.
//! - Binary tokens are followed by exactly one space; integers and floats are a size byte (4 for
//!   `i32`/`f32`, 8 for `f64`, -2 for `u16`) then little-endian bytes.
//! - A matrix is `FM`/`DM` then rows, columns, row-major data; a vector `FV`/`DV`, size, data; a
//!   packed symmetric matrix `FP`/`DP`, size, then the lower triangle row by row. Compressed
//!   matrices (`CM`, `CM2`, `CM3`) are read wherever a matrix is expected.
//! - Text floats are printed with 7 significant digits (`%.7g`), as Kaldi's text archives.
//!
//! ```
//! use cepstra_io::basic;
//! use ndarray::array;
//! let m = array![[1.0f32, 2.0], [3.0, 4.5]];
//! let mut bytes = Vec::new();
//! basic::write_matrix_f32(&mut bytes, true, m.view())?;
//! let back = basic::read_matrix_f32(&mut &bytes[..], true)?;
//! assert_eq!(back, m);
//! # Ok::<(), cepstra_io::Error>(())
//! ```

use std::io::{BufRead, Write};

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::compressed::CompressedMatrix;
use crate::error::{Error, Result};

/// Most elements a matrix header may announce (2^31 · 8 bytes would already be 16 GiB).
const MAX_ELEMENTS: usize = 1 << 31;

/// A floating-point type Kaldi stores (`float` or `double`).
pub trait KaldiFloat: Copy + Default + Send + Sync + 'static {
    /// Matrix token (`FM`/`DM`).
    const MATRIX_TOKEN: &'static str;
    /// Vector token (`FV`/`DV`).
    const VECTOR_TOKEN: &'static str;
    /// Packed symmetric matrix token (`FP`/`DP`).
    const PACKED_TOKEN: &'static str;
    /// Size in bytes.
    const SIZE: usize;
    /// Converts from `f64` (rounding for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64`.
    fn to_f64(self) -> f64;
    /// Converts from `f32`.
    fn from_f32(x: f32) -> Self;
    /// Appends the little-endian bytes.
    fn put_le(self, out: &mut Vec<u8>);
}

impl KaldiFloat for f32 {
    const MATRIX_TOKEN: &'static str = "FM";
    const VECTOR_TOKEN: &'static str = "FV";
    const PACKED_TOKEN: &'static str = "FP";
    const SIZE: usize = 4;
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f32(x: f32) -> Self {
        x
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl KaldiFloat for f64 {
    const MATRIX_TOKEN: &'static str = "DM";
    const VECTOR_TOKEN: &'static str = "DV";
    const PACKED_TOKEN: &'static str = "DP";
    const SIZE: usize = 8;
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f32(x: f32) -> Self {
        x as f64
    }
    fn put_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// Element precision found in a binary stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Precision {
    Single,
    Double,
}

fn peek_byte<R: BufRead>(r: &mut R) -> Result<Option<u8>> {
    let buf = r.fill_buf()?;
    Ok(buf.first().copied())
}

fn read_byte<R: BufRead>(r: &mut R) -> Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn skip_whitespace<R: BufRead>(r: &mut R) -> Result<()> {
    loop {
        let (skip, done) = {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            let n = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
            (n, n < buf.len())
        };
        r.consume(skip);
        if done {
            return Ok(());
        }
    }
}

/// Reads Kaldi's stream header: `"\0B"` means binary (consumed, returns `true`); anything else
/// means text (leading whitespace is not consumed, returns `false`).
pub fn read_binary_flag<R: BufRead>(r: &mut R) -> Result<bool> {
    if peek_byte(r)? == Some(0) {
        r.consume(1);
        match read_byte(r) {
            Ok(b'B') => Ok(true),
            _ => Err(Error::format("corrupt binary header: expected \"\\0B\"")),
        }
    } else {
        Ok(false)
    }
}

/// Writes `"\0B"` when `binary`; nothing for text.
pub fn write_binary_flag<W: Write>(w: &mut W, binary: bool) -> Result<()> {
    if binary {
        w.write_all(b"\0B")?;
    }
    Ok(())
}

/// Reads one whitespace-delimited token and the single space after it.
pub fn read_token<R: BufRead>(r: &mut R, binary: bool) -> Result<String> {
    if !binary {
        skip_whitespace(r)?;
    }
    let mut tok = Vec::new();
    loop {
        let (used, done) = {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let n = buf.iter().take_while(|b| !b.is_ascii_whitespace()).count();
            tok.extend_from_slice(&buf[..n]);
            (n, n < buf.len())
        };
        r.consume(used);
        if done {
            break;
        }
        if tok.len() > 4096 {
            return Err(Error::format(
                "token longer than 4096 bytes (not a Kaldi object?)",
            ));
        }
    }
    if tok.is_empty() {
        return Err(Error::format(
            "expected a token, found end of data or whitespace",
        ));
    }
    match peek_byte(r)? {
        Some(b) if b.is_ascii_whitespace() => r.consume(1),
        Some(_) => return Err(Error::format("expected a space after a token")),
        None if binary => return Err(Error::format("unexpected end of data after a token")),
        None => {}
    }
    String::from_utf8(tok).map_err(|_| Error::format("token is not valid UTF-8"))
}

/// Returns the next token without consuming it (like Kaldi's `PeekToken`, but for any token
/// that fits in the reader's buffer).
pub fn peek_token<R: BufRead>(r: &mut R, binary: bool) -> Result<String> {
    if !binary {
        skip_whitespace(r)?;
    }
    let buf = r.fill_buf()?;
    let n = buf.iter().take_while(|b| !b.is_ascii_whitespace()).count();
    if n == 0 {
        return Err(Error::format("expected a token"));
    }
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Reads a token and checks it is `token`.
pub fn expect_token<R: BufRead>(r: &mut R, binary: bool, token: &str) -> Result<()> {
    let got = read_token(r, binary)?;
    if got != token {
        return Err(Error::format(format!("expected token {token}, got {got}")));
    }
    Ok(())
}

/// Writes a token followed by a space.
pub fn write_token<W: Write>(w: &mut W, _binary: bool, token: &str) -> Result<()> {
    w.write_all(token.as_bytes())?;
    w.write_all(b" ")?;
    Ok(())
}

fn read_text_word<R: BufRead>(r: &mut R) -> Result<String> {
    skip_whitespace(r)?;
    let mut word = Vec::new();
    loop {
        let (used, done) = {
            let buf = r.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let n = buf.iter().take_while(|b| !b.is_ascii_whitespace()).count();
            word.extend_from_slice(&buf[..n]);
            (n, n < buf.len())
        };
        r.consume(used);
        if done || word.len() > 512 {
            break;
        }
    }
    if word.is_empty() {
        return Err(Error::format("unexpected end of data (expected a number)"));
    }
    String::from_utf8(word).map_err(|_| Error::format("number is not valid UTF-8"))
}

fn parse_text_f64(word: &str) -> Result<f64> {
    word.parse::<f64>()
        .map_err(|_| Error::format(format!("expected a number, got '{word}'")))
}

fn read_size_byte<R: BufRead>(r: &mut R) -> Result<i8> {
    Ok(read_byte(r)? as i8)
}

/// Reads a Kaldi `int32`.
pub fn read_i32<R: BufRead>(r: &mut R, binary: bool) -> Result<i32> {
    if binary {
        let size = read_size_byte(r)?;
        if size != 4 {
            return Err(Error::format(format!(
                "expected a 4-byte integer, found size byte {size}"
            )));
        }
        let mut b = [0u8; 4];
        r.read_exact(&mut b)?;
        Ok(i32::from_le_bytes(b))
    } else {
        let w = read_text_word(r)?;
        w.parse::<i32>()
            .map_err(|_| Error::format(format!("expected an integer, got '{w}'")))
    }
}

/// Writes a Kaldi `int32`.
pub fn write_i32<W: Write>(w: &mut W, binary: bool, v: i32) -> Result<()> {
    if binary {
        w.write_all(&[4u8])?;
        w.write_all(&v.to_le_bytes())?;
    } else {
        write!(w, "{v} ")?;
    }
    Ok(())
}

/// Reads an unsigned 16-bit Kaldi integer (e.g. `GmmFlagsType`).
pub fn read_u16<R: BufRead>(r: &mut R, binary: bool) -> Result<u16> {
    if binary {
        let size = read_size_byte(r)?;
        if size != -2 {
            return Err(Error::format(format!(
                "expected an unsigned 2-byte integer, found size byte {size}"
            )));
        }
        let mut b = [0u8; 2];
        r.read_exact(&mut b)?;
        Ok(u16::from_le_bytes(b))
    } else {
        let w = read_text_word(r)?;
        w.parse::<u16>()
            .map_err(|_| Error::format(format!("expected an integer, got '{w}'")))
    }
}

/// Writes an unsigned 16-bit Kaldi integer.
pub fn write_u16<W: Write>(w: &mut W, binary: bool, v: u16) -> Result<()> {
    if binary {
        w.write_all(&[(-2i8) as u8])?;
        w.write_all(&v.to_le_bytes())?;
    } else {
        write!(w, "{v} ")?;
    }
    Ok(())
}

/// Reads a Kaldi `float` or `double` (binary accepts either size) as `f64`.
pub fn read_f64<R: BufRead>(r: &mut R, binary: bool) -> Result<f64> {
    if binary {
        match read_size_byte(r)? {
            4 => {
                let mut b = [0u8; 4];
                r.read_exact(&mut b)?;
                Ok(f32::from_le_bytes(b) as f64)
            }
            8 => {
                let mut b = [0u8; 8];
                r.read_exact(&mut b)?;
                Ok(f64::from_le_bytes(b))
            }
            s => Err(Error::format(format!(
                "expected a float, found size byte {s}"
            ))),
        }
    } else {
        parse_text_f64(&read_text_word(r)?)
    }
}

/// Reads a Kaldi `float` (a `double` in the stream is rounded).
pub fn read_f32<R: BufRead>(r: &mut R, binary: bool) -> Result<f32> {
    Ok(read_f64(r, binary)? as f32)
}

/// Writes a Kaldi `float`.
pub fn write_f32<W: Write>(w: &mut W, binary: bool, v: f32) -> Result<()> {
    if binary {
        w.write_all(&[4u8])?;
        w.write_all(&v.to_le_bytes())?;
    } else {
        write!(w, "{} ", format_g7(v as f64))?;
    }
    Ok(())
}

/// Writes a Kaldi `double`.
pub fn write_f64<W: Write>(w: &mut W, binary: bool, v: f64) -> Result<()> {
    if binary {
        w.write_all(&[8u8])?;
        w.write_all(&v.to_le_bytes())?;
    } else {
        write!(w, "{} ", format_g7(v))?;
    }
    Ok(())
}

/// Formats like C's `%.7g` (Kaldi's text precision): 7 significant digits, trailing zeros removed.
pub fn format_g7(x: f64) -> String {
    format_g(x, 7)
}

/// Formats like C's `%.{prec}g`.
pub fn format_g(x: f64, prec: usize) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let prec = prec.max(1);
    let sci = format!("{:.*e}", prec - 1, x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, x)).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

fn read_dim<R: BufRead>(r: &mut R, binary: bool, what: &str) -> Result<usize> {
    let n = read_i32(r, binary)?;
    usize::try_from(n).map_err(|_| Error::format(format!("negative {what} {n}")))
}

fn check_elements(rows: usize, cols: usize) -> Result<usize> {
    rows.checked_mul(cols)
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| Error::format(format!("implausible matrix size {rows}x{cols}")))
}

fn read_floats<R: BufRead, T: KaldiFloat>(r: &mut R, prec: Precision, n: usize) -> Result<Vec<T>> {
    let size = match prec {
        Precision::Single => 4,
        Precision::Double => 8,
    };
    let mut out = Vec::with_capacity(n.min(1 << 20));
    let mut remaining = n;
    let mut chunk = vec![0u8; size * n.clamp(1, 1 << 16)];
    while remaining > 0 {
        let take = remaining.min(chunk.len() / size);
        let bytes = &mut chunk[..take * size];
        r.read_exact(bytes)?;
        match prec {
            Precision::Single => out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|c| T::from_f32(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
            ),
            Precision::Double => out.extend(bytes.chunks_exact(8).map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                T::from_f64(f64::from_le_bytes(b))
            })),
        }
        remaining -= take;
    }
    Ok(out)
}

fn write_floats<W: Write, T: KaldiFloat>(w: &mut W, data: impl Iterator<Item = T>) -> Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    for x in data {
        x.put_le(&mut buf);
        if buf.len() >= (1 << 16) - 8 {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)?;
    Ok(())
}

fn precision_of(token: &str, single: &str, double: &str) -> Result<Precision> {
    if token == single {
        Ok(Precision::Single)
    } else if token == double {
        Ok(Precision::Double)
    } else {
        Err(Error::format(format!(
            "expected {single} or {double}, got token '{token}'"
        )))
    }
}

fn expect_open_bracket<R: BufRead>(r: &mut R) -> Result<()> {
    skip_whitespace(r)?;
    match read_byte(r) {
        Ok(b'[') => Ok(()),
        Ok(b) => Err(Error::format(format!(
            "expected '[' to open a text object, got '{}'",
            b.escape_ascii()
        ))),
        Err(_) => Err(Error::format("expected '[', found end of data")),
    }
}

/// Reads the numbers of a text object up to `]`, returning them and the row lengths (rows end at
/// newlines).
fn read_text_rows<R: BufRead>(r: &mut R) -> Result<(Vec<f64>, Vec<usize>)> {
    expect_open_bracket(r)?;
    let mut values = Vec::new();
    let mut rows = Vec::new();
    let mut row_len = 0usize;
    let mut word = Vec::new();
    loop {
        let b = match read_byte(r) {
            Ok(b) => b,
            Err(_) => return Err(Error::format("text object not closed by ']' (truncated?)")),
        };
        if b.is_ascii_whitespace() || b == b']' {
            if !word.is_empty() {
                let s = std::str::from_utf8(&word)
                    .map_err(|_| Error::format("non-UTF-8 bytes in a text object"))?;
                values.push(parse_text_f64(s)?);
                row_len += 1;
                word.clear();
            }
            if (b == b'\n' || b == b']') && row_len > 0 {
                rows.push(row_len);
                row_len = 0;
            }
            if b == b']' {
                break;
            }
        } else {
            word.push(b);
            if word.len() > 512 {
                return Err(Error::format(
                    "number longer than 512 bytes in a text object",
                ));
            }
        }
    }
    // Consume the rest of the line after ']' (Kaldi writes "]\n").
    while let Some(b) = peek_byte(r)? {
        if b == b'\n' {
            r.consume(1);
            break;
        } else if b == b' ' || b == b'\r' || b == b'\t' {
            r.consume(1);
        } else {
            break;
        }
    }
    Ok((values, rows))
}

/// Reads a vector (`FV` or `DV`; text `[ … ]`) as `T`.
pub fn read_vector<R: BufRead, T: KaldiFloat>(r: &mut R, binary: bool) -> Result<Array1<T>> {
    if binary {
        let tok = read_token(r, true)?;
        let prec = precision_of(&tok, "FV", "DV")?;
        let n = read_dim(r, true, "vector size")?;
        check_elements(n, 1)?;
        Ok(Array1::from(read_floats::<R, T>(r, prec, n)?))
    } else {
        let (values, _) = read_text_rows(r)?;
        Ok(values.into_iter().map(T::from_f64).collect())
    }
}

/// Reads a vector as `f64`.
pub fn read_vector_f64<R: BufRead>(r: &mut R, binary: bool) -> Result<Array1<f64>> {
    read_vector::<R, f64>(r, binary)
}

/// Reads a vector as `f32`.
pub fn read_vector_f32<R: BufRead>(r: &mut R, binary: bool) -> Result<Array1<f32>> {
    read_vector::<R, f32>(r, binary)
}

/// Writes a vector in `T`'s precision.
pub fn write_vector<W: Write, T: KaldiFloat>(
    w: &mut W,
    binary: bool,
    v: ArrayView1<T>,
) -> Result<()> {
    if binary {
        write_token(w, true, T::VECTOR_TOKEN)?;
        write_i32(w, true, dim_i32(v.len())?)?;
        write_floats(w, v.iter().copied())?;
    } else {
        let mut s = String::with_capacity(v.len() * 12 + 8);
        s.push_str(" [ ");
        for &x in v.iter() {
            s.push_str(&format_g7(x.to_f64()));
            s.push(' ');
        }
        s.push_str("]\n");
        w.write_all(s.as_bytes())?;
    }
    Ok(())
}

/// Writes a `float` vector (`FV`).
pub fn write_vector_f32<W: Write>(w: &mut W, binary: bool, v: ArrayView1<f32>) -> Result<()> {
    write_vector(w, binary, v)
}

/// Writes a `double` vector (`DV`).
pub fn write_vector_f64<W: Write>(w: &mut W, binary: bool, v: ArrayView1<f64>) -> Result<()> {
    write_vector(w, binary, v)
}

fn dim_i32(n: usize) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::format(format!("dimension {n} too large for Kaldi")))
}

/// Reads a matrix (`FM`, `DM`, or compressed `CM`/`CM2`/`CM3`; text `[ … ]`) as `T`.
pub fn read_matrix<R: BufRead, T: KaldiFloat>(r: &mut R, binary: bool) -> Result<Array2<T>> {
    if binary {
        let tok = read_token(r, true)?;
        if tok.starts_with("CM") {
            let cm = CompressedMatrix::read_after_token(&tok, r)?;
            return Ok(cm.to_matrix().mapv(T::from_f32));
        }
        let prec = precision_of(&tok, "FM", "DM")?;
        let rows = read_dim(r, true, "row count")?;
        let cols = read_dim(r, true, "column count")?;
        let n = check_elements(rows, cols)?;
        let data = read_floats::<R, T>(r, prec, n)?;
        Array2::from_shape_vec((rows, cols), data).map_err(|e| Error::format(e.to_string()))
    } else {
        let (values, row_lens) = read_text_rows(r)?;
        let rows = row_lens.len();
        let cols = row_lens.first().copied().unwrap_or(0);
        if let Some((i, &l)) = row_lens.iter().enumerate().find(|(_, &l)| l != cols) {
            return Err(Error::format(format!(
                "text matrix row {} has {l} values, the first row has {cols}",
                i + 1
            )));
        }
        let data = values.into_iter().map(T::from_f64).collect();
        Array2::from_shape_vec((rows, cols), data).map_err(|e| Error::format(e.to_string()))
    }
}

/// Reads a matrix as `f32`.
pub fn read_matrix_f32<R: BufRead>(r: &mut R, binary: bool) -> Result<Array2<f32>> {
    read_matrix::<R, f32>(r, binary)
}

/// Reads a matrix as `f64`.
pub fn read_matrix_f64<R: BufRead>(r: &mut R, binary: bool) -> Result<Array2<f64>> {
    read_matrix::<R, f64>(r, binary)
}

/// Writes a matrix in `T`'s precision.
pub fn write_matrix<W: Write, T: KaldiFloat>(
    w: &mut W,
    binary: bool,
    m: ArrayView2<T>,
) -> Result<()> {
    if binary {
        write_token(w, true, T::MATRIX_TOKEN)?;
        write_i32(w, true, dim_i32(m.nrows())?)?;
        write_i32(w, true, dim_i32(m.ncols())?)?;
        write_floats(w, m.iter().copied())?;
    } else if m.ncols() == 0 || m.nrows() == 0 {
        w.write_all(b" [ ]\n")?;
    } else {
        let mut s = String::with_capacity(m.ncols() * 12 + 8);
        s.push_str(" [");
        for row in m.rows() {
            s.push_str("\n  ");
            for &x in row.iter() {
                s.push_str(&format_g7(x.to_f64()));
                s.push(' ');
            }
            w.write_all(s.as_bytes())?;
            s.clear();
        }
        w.write_all(b"]\n")?;
    }
    Ok(())
}

/// Writes a `float` matrix (`FM`).
pub fn write_matrix_f32<W: Write>(w: &mut W, binary: bool, m: ArrayView2<f32>) -> Result<()> {
    write_matrix(w, binary, m)
}

/// Writes a `double` matrix (`DM`).
pub fn write_matrix_f64<W: Write>(w: &mut W, binary: bool, m: ArrayView2<f64>) -> Result<()> {
    write_matrix(w, binary, m)
}

/// Reads a packed symmetric matrix (Kaldi `SpMatrix`: `FP`/`DP`) into a full symmetric matrix.
pub fn read_sp_matrix<R: BufRead, T: KaldiFloat>(r: &mut R, binary: bool) -> Result<Array2<T>> {
    let (n, packed): (usize, Vec<T>) = if binary {
        let tok = read_token(r, true)?;
        let prec = precision_of(&tok, "FP", "DP")?;
        let n = read_dim(r, true, "packed matrix size")?;
        let len = n
            .checked_mul(n + 1)
            .map(|x| x / 2)
            .filter(|&x| x <= MAX_ELEMENTS)
            .ok_or_else(|| Error::format(format!("implausible packed matrix size {n}")))?;
        (n, read_floats::<R, T>(r, prec, len)?)
    } else {
        let (values, row_lens) = read_text_rows(r)?;
        let n = row_lens.len();
        if row_lens.iter().enumerate().any(|(i, &l)| l != i + 1) {
            return Err(Error::format(
                "text packed matrix: row i must have i values (lower triangle)",
            ));
        }
        (n, values.into_iter().map(T::from_f64).collect())
    };
    let mut full = Array2::<T>::default((n, n));
    let mut k = 0;
    for i in 0..n {
        for j in 0..=i {
            full[[i, j]] = packed[k];
            full[[j, i]] = packed[k];
            k += 1;
        }
    }
    Ok(full)
}

/// Reads a packed symmetric matrix as `f64`.
pub fn read_sp_matrix_f64<R: BufRead>(r: &mut R, binary: bool) -> Result<Array2<f64>> {
    read_sp_matrix::<R, f64>(r, binary)
}

/// Writes the lower triangle of a symmetric matrix as Kaldi's packed `SpMatrix` in `T`'s
/// precision.
///
/// # Panics
/// If `m` is not square.
pub fn write_sp_matrix<W: Write, T: KaldiFloat>(
    w: &mut W,
    binary: bool,
    m: ArrayView2<T>,
) -> Result<()> {
    assert_eq!(
        m.nrows(),
        m.ncols(),
        "write_sp_matrix needs a square matrix"
    );
    let n = m.nrows();
    if binary {
        write_token(w, true, T::PACKED_TOKEN)?;
        write_i32(w, true, dim_i32(n)?)?;
        write_floats(w, (0..n).flat_map(|i| (0..=i).map(move |j| m[[i, j]])))?;
    } else if n == 0 {
        w.write_all(b" [ ]\n")?;
    } else {
        let mut s = String::from("[\n");
        for i in 0..n {
            for j in 0..=i {
                s.push_str(&format_g7(m[[i, j]].to_f64()));
                s.push(' ');
            }
            s.push_str(if i + 1 == n { "]\n" } else { "\n" });
        }
        w.write_all(s.as_bytes())?;
    }
    Ok(())
}

/// Writes a `float` packed symmetric matrix (`FP`).
pub fn write_sp_matrix_f32<W: Write>(w: &mut W, binary: bool, m: ArrayView2<f32>) -> Result<()> {
    write_sp_matrix(w, binary, m)
}

/// Writes a `double` packed symmetric matrix (`DP`).
pub fn write_sp_matrix_f64<W: Write>(w: &mut W, binary: bool, m: ArrayView2<f64>) -> Result<()> {
    write_sp_matrix(w, binary, m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn format_g7_matches_c() {
        assert_eq!(format_g7(86.718193), "86.71819");
        assert_eq!(format_g7(-151303.31), "-151303.3");
        assert_eq!(format_g7(0.0326666667), "0.03266667");
        assert_eq!(format_g7(1.0), "1");
        assert_eq!(format_g7(1e-5), "1e-05");
        assert_eq!(format_g7(12345678.0), "1.234568e+07");
        assert_eq!(format_g7(0.0001), "0.0001");
        assert_eq!(format_g7(-2.5e10), "-2.5e+10");
    }

    #[test]
    fn text_matrix_round_trip() {
        let m = array![[1.5f64, -2.0, 3.25], [4.0, 5.0, 6.0]];
        let mut out = Vec::new();
        write_matrix_f64(&mut out, false, m.view()).unwrap();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            " [\n  1.5 -2 3.25 \n  4 5 6 ]\n"
        );
        let back = read_matrix_f64(&mut &out[..], false).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn binary_vector_and_double_to_float() {
        let v = array![1.0f64, 2.0, 3.0];
        let mut out = Vec::new();
        write_vector_f64(&mut out, true, v.view()).unwrap();
        assert_eq!(&out[..3], b"DV ");
        let back = read_vector_f32(&mut &out[..], true).unwrap();
        assert_eq!(back, array![1.0f32, 2.0, 3.0]);
    }

    #[test]
    fn packed_round_trip_both_forms() {
        let m = array![[2.0f64, 0.5], [0.5, 3.0]];
        for binary in [true, false] {
            let mut out = Vec::new();
            write_sp_matrix_f64(&mut out, binary, m.view()).unwrap();
            let back = read_sp_matrix_f64(&mut &out[..], binary).unwrap();
            assert_eq!(back, m);
        }
    }

    #[test]
    fn truncated_and_huge_headers_are_errors() {
        let m = array![[1.0f32, 2.0]];
        let mut out = Vec::new();
        write_matrix_f32(&mut out, true, m.view()).unwrap();
        assert!(read_matrix_f32(&mut &out[..out.len() - 1], true).is_err());
        let huge = b"FM \x04\xff\xff\xff\x7f\x04\xff\xff\xff\x7f";
        assert!(read_matrix_f32(&mut &huge[..], true).is_err());
        let neg = b"FM \x04\xff\xff\xff\xff\x04\x01\x00\x00\x00";
        assert!(read_matrix_f32(&mut &neg[..], true).is_err());
    }

    #[test]
    fn ragged_text_matrix_is_an_error() {
        let txt = b" [\n 1 2\n 3 ]\n";
        assert!(read_matrix_f32(&mut &txt[..], false).is_err());
    }
}
