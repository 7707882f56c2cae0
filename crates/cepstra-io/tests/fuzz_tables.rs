//! A proptest fuzzing harness for the table and object parsers: arbitrary bytes and mutated
//! valid archives must give `Ok` or `Err`, never a panic or a huge allocation. Inputs that once
//! crashed are kept as regression tests at the bottom.

#![allow(clippy::unwrap_used)] // test helpers: a panic is the failure report

use std::io::Write;

use cepstra_io::basic;
use cepstra_io::table::{parse_scp, SequentialReader, Writer};
use ndarray::{Array1, Array2};
use proptest::prelude::*;

fn valid_archive(binary: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.ark");
    let spec = format!("ark{}:{}", if binary { "" } else { ",t" }, p.display());
    let mut w = Writer::<Array2<f32>>::open(&spec).unwrap();
    w.write(
        "utt1",
        &Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32 - 2.5),
    )
    .unwrap();
    w.write(
        "utt2",
        &Array2::from_shape_fn((2, 4), |(i, j)| (i + j) as f32 * 1e-3),
    )
    .unwrap();
    w.commit().unwrap();
    std::fs::read(p).unwrap()
}

/// Reads `bytes` as an archive of every object type; returns how many entries parsed.
fn read_all(bytes: &[u8]) -> usize {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    let spec = format!("ark:{}", f.path().display());
    let mut n = 0;
    n += SequentialReader::<Array2<f32>>::open(&spec)
        .unwrap()
        .take(16)
        .filter(Result::is_ok)
        .count();
    n += SequentialReader::<Array2<f64>>::open(&spec)
        .unwrap()
        .take(16)
        .filter(Result::is_ok)
        .count();
    n += SequentialReader::<Array1<f32>>::open(&spec)
        .unwrap()
        .take(16)
        .filter(Result::is_ok)
        .count();
    n += SequentialReader::<f32>::open(&spec)
        .unwrap()
        .take(16)
        .filter(Result::is_ok)
        .count();
    n
}

fn parse_objects(bytes: &[u8]) {
    for binary in [true, false] {
        let _ = basic::read_matrix_f32(&mut &bytes[..], binary);
        let _ = basic::read_vector_f64(&mut &bytes[..], binary);
        let _ = basic::read_sp_matrix_f64(&mut &bytes[..], binary);
        let _ = basic::read_token(&mut &bytes[..], binary);
    }
    let _ = basic::read_binary_flag(&mut &bytes[..]);
    let _ = parse_scp(&String::from_utf8_lossy(bytes), "fuzz.scp".as_ref());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        parse_objects(&bytes);
        read_all(&bytes);
    }

    #[test]
    fn mutated_archives_never_panic(
        binary in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = valid_archive(binary);
        for (i, b) in edits {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        let end = cut.index(bytes.len() + 1);
        parse_objects(&bytes[..end]);
        read_all(&bytes[..end]);
    }

    #[test]
    fn headers_announcing_huge_sizes_are_errors(rows in any::<i32>(), cols in any::<i32>()) {
        let mut bytes = b"FM ".to_vec();
        bytes.push(4);
        bytes.extend_from_slice(&rows.to_le_bytes());
        bytes.push(4);
        bytes.extend_from_slice(&cols.to_le_bytes());
        bytes.extend_from_slice(&[0u8; 64]);
        let r = basic::read_matrix_f32(&mut &bytes[..], true);
        if let Ok(m) = r {
            prop_assert!(m.len() <= 16);
        }
    }
}

#[test]
fn valid_archives_parse() {
    for binary in [true, false] {
        let bytes = valid_archive(binary);
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&bytes).unwrap();
        let spec = format!("ark:{}", f.path().display());
        let got: Vec<_> = SequentialReader::<Array2<f32>>::open(&spec)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].1[[2, 3]], 8.5);
    }
}
