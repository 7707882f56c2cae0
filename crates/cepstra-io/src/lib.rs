//! Kaldi-compatible input and output for cepstra.
//!
//! - [`filename`]: extended filenames (`-`, `cmd |`, `| cmd`, `file:offset`) and atomic output.
//! - [`basic`]: Kaldi's binary and text forms of tokens, numbers, vectors, matrices and packed
//!   symmetric matrices.
//! - [`compressed`]: Kaldi's compressed matrices (`CM`, `CM2`, `CM3`), bit-exact.
//! - [`table`]: archives and script files addressed by r/wspecifiers (`ark:`, `scp:`,
//!   `ark,scp:`, `ark,t:`, flags `s`, `cs`, `p`, `o`).
//! - [`wav`]: WAV decoding (int16-scale samples).
//! - [`datadir`]: data directories: validation and fixing as Kaldi's `utils/` scripts.
//!
//! ```
//! use cepstra_io::table::{SequentialReader, Writer};
//! use ndarray::array;
//! let dir = std::env::temp_dir().join(format!("cepstra-io-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let spec = format!("ark,scp:{0}/a.ark,{0}/a.scp", dir.display());
//! let mut w = Writer::open(&spec)?;
//! w.write("utt1", &array![[1.0f32, 2.0], [3.0, 4.0]])?;
//! w.commit()?;
//! let (key, m): (String, ndarray::Array2<f32>) =
//!     SequentialReader::open(&format!("scp:{}/a.scp", dir.display()))?.next().unwrap()?;
//! assert_eq!((key.as_str(), m.nrows()), ("utt1", 2));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), cepstra_io::Error>(())
//! ```

pub mod basic;
pub mod compressed;
pub mod datadir;
pub mod error;
pub mod filename;
pub mod table;
pub mod wav;

pub use compressed::{CompressedMatrix, CompressionMethod};
pub use error::{Error, Result};
pub use wav::WaveData;

#[cfg(test)]
mod autotraits {
    fn is_send_sync<T: Send + Sync>() {}
    #[test]
    fn public_types_are_send_sync() {
        is_send_sync::<crate::Error>();
        is_send_sync::<crate::WaveData>();
        is_send_sync::<crate::CompressedMatrix>();
        is_send_sync::<crate::table::RSpecifier>();
    }
}
