//! Alignments as Kaldi int-vector tables (`ali` archives): text `utt 0 0 1 1 2 \n` (Kaldi's
//! `BasicVectorHolder<int32>`: each value followed by a space), binary `\0B` + the size and the
//! values as Kaldi int32s.

use std::io::{BufRead, Write};

use cepstra_io::basic::{read_i32, write_i32};
use cepstra_io::table::KaldiObject;

/// One alignment: the 0-based state of each frame (Kaldi's `std::vector<int32>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntVector(pub Vec<i32>);

impl KaldiObject for IntVector {
    fn read_object<R: BufRead>(r: &mut R, binary: bool) -> cepstra_io::Result<Self> {
        if binary {
            let n = read_i32(r, true)?;
            if n < 0 {
                return Err(cepstra_io::Error::format(format!(
                    "negative int-vector size {n}"
                )));
            }
            let mut v = Vec::with_capacity((n as usize).min(1 << 20));
            for _ in 0..n {
                v.push(read_i32(r, true)?);
            }
            return Ok(IntVector(v));
        }
        let mut line = String::new();
        r.read_line(&mut line)?;
        line.split_whitespace()
            .map(|w| {
                w.parse::<i32>().map_err(|_| {
                    cepstra_io::Error::format(format!("{w:?} in an int vector is not an integer"))
                })
            })
            .collect::<cepstra_io::Result<Vec<_>>>()
            .map(IntVector)
    }
    fn write_object<W: Write>(&self, w: &mut W, binary: bool) -> cepstra_io::Result<()> {
        if binary {
            write_i32(w, true, self.0.len() as i32)?;
            for &v in &self.0 {
                write_i32(w, true, v)?;
            }
            return Ok(());
        }
        let mut s = String::with_capacity(self.0.len() * 3 + 1);
        for v in &self.0 {
            s.push_str(&v.to_string());
            s.push(' ');
        }
        s.push('\n');
        w.write_all(s.as_bytes())?;
        Ok(())
    }
}
