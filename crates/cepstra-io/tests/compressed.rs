//! Kaldi compressed matrices against files written by real Kaldi (`tests/data/cm/README.md`).

use std::path::PathBuf;

use cepstra_io::compressed::{CompressedMatrix, CompressionMethod};
use ndarray::{Array2, ArrayView2};
use proptest::prelude::*;

fn data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cm")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// One binary archive entry: an uncompressed `FM` or a compressed matrix.
#[derive(Debug)]
enum Entry {
    Full(Array2<f32>),
    Compressed(CompressedMatrix),
}

/// A tiny binary-archive parser: `key ' ' "\0B" token ' ' body`, repeated.
fn parse_ark(mut bytes: &[u8]) -> Vec<(String, Entry)> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, tail) = b.split_at(n);
        *b = tail;
        head
    }
    fn word(b: &mut &[u8]) -> String {
        let end = b.iter().position(|&c| c == b' ').expect("space after word");
        let w = String::from_utf8(take(b, end).to_vec()).expect("utf-8 word");
        take(b, 1);
        w
    }
    fn dim(b: &mut &[u8]) -> usize {
        assert_eq!(take(b, 1), [4u8], "int32 size byte");
        let v = i32::from_le_bytes(take(b, 4).try_into().expect("4 bytes"));
        usize::try_from(v).expect("non-negative dimension")
    }
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let key = word(&mut bytes);
        assert_eq!(take(&mut bytes, 2), b"\0B", "binary marker of {key}");
        let token = word(&mut bytes);
        let entry = if token == "FM" {
            let (rows, cols) = (dim(&mut bytes), dim(&mut bytes));
            let values = take(&mut bytes, 4 * rows * cols)
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect();
            Entry::Full(Array2::from_shape_vec((rows, cols), values).expect("shape"))
        } else {
            Entry::Compressed(
                CompressedMatrix::read_after_token(&token, &mut bytes).expect("valid CM body"),
            )
        };
        out.push((key, entry));
    }
    out
}

fn full(entries: Vec<(String, Entry)>) -> Vec<(String, Array2<f32>)> {
    entries
        .into_iter()
        .map(|(k, e)| match e {
            Entry::Full(m) => (k, m),
            Entry::Compressed(_) => panic!("{k}: expected an FM matrix"),
        })
        .collect()
}

fn compressed(entries: Vec<(String, Entry)>) -> Vec<(String, CompressedMatrix)> {
    entries
        .into_iter()
        .map(|(k, e)| match e {
            Entry::Compressed(m) => (k, m),
            Entry::Full(_) => panic!("{k}: expected a compressed matrix"),
        })
        .collect()
}

/// Writes entries as Kaldi's `ark:` writer does.
fn write_ark(entries: &[(String, CompressedMatrix)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, cm) in entries {
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b" \0B");
        cm.write(&mut out).expect("write to Vec");
    }
    out
}

fn method(n: i32) -> CompressionMethod {
    CompressionMethod::from_kaldi(n).expect("method 1..=7")
}

/// The largest error the compression of `m` with `method` may make at each element: half a code
/// step of the format (0.501 of one where Kaldi rounds with `+ 0.499`), plus the quantisation
/// of the range edges, plus float rounding.
fn error_bound(m: ArrayView2<f32>, method: CompressionMethod) -> Array2<f32> {
    let (rows, _) = m.dim();
    let (min, max) = m
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let max_abs = min.abs().max(max.abs());
    let range = f64::from(max) - f64::from(min);
    let rounding = 8.0 * f64::from(f32::EPSILON) * f64::from(max_abs);
    let speech = match method {
        CompressionMethod::Auto => rows > 8,
        CompressionMethod::SpeechFeature => true,
        _ => false,
    };
    let mut bound = Array2::<f32>::zeros(m.dim());
    for (col, mut b) in m.columns().into_iter().zip(bound.columns_mut()) {
        let err = if speech {
            // Percentiles sit on the 1/65535 grid of the matrix range, at least one grid
            // step apart; each of [p0, p25], [p25, p75], [p75, p100] has at least 63 steps and
            // rounding to the nearest code errs by half a step.
            let (lo, hi) = col
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let unit = range.max(1.0 + f64::from(min.abs())) / 65535.0;
            (f64::from(hi) - f64::from(lo) + 5.0 * unit) / 126.0 + unit
        } else {
            match method {
                CompressionMethod::OneByteAuto => range / 255.0 * 0.501,
                _ => range / 65535.0 * 0.501,
            }
        };
        b.fill((err + rounding) as f32);
    }
    bound
}

/// The golden sets: real Kaldi (`method{m}.ark`, 6 matrices) and kaldi-native-io edge cases
/// (`kni/edge_method{m}.ark`, 14 matrices), each with its uncompressed input.
const GOLDEN_SETS: [(&str, usize); 2] = [("", 6), ("kni/edge_", 14)];

#[test]
fn decompression_is_bit_exact_for_all_methods() {
    for (prefix, count) in GOLDEN_SETS {
        for n in 1..=7 {
            let cms = compressed(parse_ark(&data(&format!("{prefix}method{n}.ark"))));
            let kaldi = full(parse_ark(&data(&format!(
                "{prefix}method{n}_decompressed.ark"
            ))));
            assert_eq!(cms.len(), count);
            assert_eq!(cms.len(), kaldi.len());
            for ((key, cm), (kaldi_key, expected)) in cms.iter().zip(&kaldi) {
                assert_eq!(key, kaldi_key);
                let ours = cm.to_matrix();
                assert_eq!(ours.dim(), expected.dim(), "method {n}, {key}");
                for ((rc, a), b) in ours.indexed_iter().zip(expected.iter()) {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "method {n}, {key}{rc:?}: {a} vs {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn compression_is_byte_identical_for_all_methods() {
    for (prefix, count) in GOLDEN_SETS {
        let input = full(parse_ark(&data(&format!("{prefix}input.ark"))));
        assert_eq!(input.len(), count);
        for n in 1..=7 {
            let ours: Vec<_> = input
                .iter()
                .map(|(k, m)| (k.clone(), CompressedMatrix::new(m.view(), method(n))))
                .collect();
            let kaldi = data(&format!("{prefix}method{n}.ark"));
            let bytes = write_ark(&ours);
            assert_eq!(bytes.len(), kaldi.len(), "{prefix}method {n}");
            if let Some(i) = bytes.iter().zip(&kaldi).position(|(a, b)| a != b) {
                panic!("{prefix}method {n}: first differing byte at offset {i}");
            }
            // And reading the reference bytes gives the same objects.
            assert_eq!(compressed(parse_ark(&kaldi)), ours, "{prefix}method {n}");
        }
    }
}

#[test]
fn tokens_follow_kaldi_formats() {
    // Methods 1 and 2 on the 5-row matrix differ: auto picks CM2 for 8 rows or fewer.
    let expect = [
        (1, ["CM", "CM2", "CM", "CM", "CM", "CM"]),
        (2, ["CM"; 6]),
        (3, ["CM2"; 6]),
        (4, ["CM2"; 6]),
        (5, ["CM3"; 6]),
        (6, ["CM3"; 6]),
        (7, ["CM3"; 6]),
    ];
    for (n, tokens) in expect {
        let cms = compressed(parse_ark(&data(&format!("method{n}.ark"))));
        let got: Vec<_> = cms.iter().map(|(_, cm)| cm.token()).collect();
        assert_eq!(got, tokens, "method {n}");
    }
}

#[test]
fn compressed_features_match_kaldi() {
    let cm_bytes = data("deltas_8k_cm.ark");
    let cms = compressed(parse_ark(&cm_bytes));
    let feats = full(parse_ark(&data("deltas_8k.ark")));
    assert_eq!(cms.len(), 1);
    let ((key, cm), (fkey, f)) = (&cms[0], &feats[0]);
    assert_eq!(key, fkey);
    assert_eq!((cm.num_rows(), cm.num_cols()), (128, 39));
    assert_eq!(cm.token(), "CM");

    // Decompression is within the quantisation error of the original features.
    let decoded = cm.to_matrix();
    let bound = error_bound(f.view(), CompressionMethod::Auto);
    let mut worst = 0f32;
    for ((a, b), tol) in decoded.iter().zip(f.iter()).zip(bound.iter()) {
        assert!((a - b).abs() <= *tol, "{a} vs {b}, bound {tol}");
        worst = worst.max((a - b).abs());
    }
    assert!(worst > 0.0, "compression is lossy");

    // Recompressing the features with the default method gives Kaldi's bytes.
    let ours = CompressedMatrix::new(f.view(), CompressionMethod::Auto);
    assert_eq!(&ours, cm);
    assert_eq!(write_ark(&[(key.clone(), ours)]), cm_bytes);

    // The scp offset (deltas_8k_cm.scp: `synth8k feat/deltas_8k_cm.ark:8`) points at "\0BCM ".
    assert_eq!(&cm_bytes[8..13], b"\0BCM ");
    let back = CompressedMatrix::read_after_token("CM", &mut &cm_bytes[13..]).expect("read");
    assert_eq!(&back, cm);
}

#[test]
fn truncated_golden_files_are_errors() {
    for n in [1, 3, 5] {
        let bytes = data(&format!("method{n}.ark"));
        // The first entry: key "speechlike_40x13", then "\0B" and the token.
        let start = bytes.iter().position(|&c| c == b' ').expect("key") + 3;
        let token_end = start
            + bytes[start..]
                .iter()
                .position(|&c| c == b' ')
                .expect("token");
        let token = std::str::from_utf8(&bytes[start..token_end]).expect("token");
        let body = &bytes[token_end + 1..];
        let whole = CompressedMatrix::read_after_token(token, &mut &body[..]).expect("valid");
        let mut written = Vec::new();
        whole.write(&mut written).expect("write");
        let body_len = written.len() - token.len() - 1;
        for cut in [0, 1, 15, 16, 17, body_len / 2, body_len - 1] {
            let r = CompressedMatrix::read_after_token(token, &mut &body[..cut]);
            assert!(
                matches!(r, Err(cepstra_io::Error::Format(_))),
                "method {n}: {cut} bytes"
            );
        }
    }
}

/// The same files through `cepstra_io::table`: archives, an `scp` with a byte offset into a
/// compressed archive, and `Writer<CompressedMatrix>`.
#[test]
fn tables_read_and_write_compressed_matrices() {
    use cepstra_io::table::{RandomAccessReader, SequentialReader, Writer};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/cm");
    let tmp = tempfile::tempdir().expect("temp dir");
    for n in 1..=7 {
        let ark = dir.join(format!("method{n}.ark"));
        let dec = dir.join(format!("method{n}_decompressed.ark"));
        let read = |spec: &std::path::Path| -> Vec<(String, Array2<f32>)> {
            SequentialReader::<Array2<f32>>::open(&format!("ark:{}", spec.display()))
                .expect("open")
                .collect::<cepstra_io::Result<_>>()
                .expect("read")
        };
        let (ours, kaldi) = (read(&ark), read(&dec));
        assert_eq!(ours.len(), 6);
        for ((k1, a), (k2, b)) in ours.iter().zip(&kaldi) {
            assert_eq!(k1, k2);
            assert!(
                a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{n} {k1}"
            );
        }
        // Read as compressed objects and write them back: Kaldi's bytes.
        let cms: Vec<(String, CompressedMatrix)> =
            SequentialReader::open(&format!("ark:{}", ark.display()))
                .expect("open")
                .collect::<cepstra_io::Result<_>>()
                .expect("read");
        let out = tmp.path().join(format!("m{n}.ark"));
        let mut w = Writer::<CompressedMatrix>::open(&format!("ark:{}", out.display()))
            .expect("open writer");
        for (k, cm) in &cms {
            w.write(k, cm).expect("write");
        }
        w.commit().expect("commit");
        assert_eq!(
            std::fs::read(&out).expect("written ark"),
            data(&format!("method{n}.ark"))
        );
    }
    // deltas_8k_cm.scp says `synth8k feat/deltas_8k_cm.ark:8`; point it at our copy.
    let scp = tmp.path().join("cm.scp");
    let line = format!("synth8k {}:8\n", dir.join("deltas_8k_cm.ark").display());
    std::fs::write(&scp, line).expect("write scp");
    let mut reader = RandomAccessReader::<Array2<f32>>::open(&format!("scp:{}", scp.display()))
        .expect("open scp");
    let got = reader.get("synth8k").expect("read").expect("key present");
    let cm = compressed(parse_ark(&data("deltas_8k_cm.ark"))).remove(0).1;
    assert_eq!(got, cm.to_matrix());
}

fn method_strategy() -> impl Strategy<Value = CompressionMethod> {
    prop_oneof![
        Just(CompressionMethod::Auto),
        Just(CompressionMethod::SpeechFeature),
        Just(CompressionMethod::TwoByteAuto),
        Just(CompressionMethod::OneByteAuto),
    ]
}

/// Random matrices: values `offset + scale * u` with `u` in [-1, 1], some columns constant,
/// offsets and scales over many orders of magnitude (range stays finite).
fn matrix_strategy() -> impl Strategy<Value = Array2<f32>> {
    (1usize..40, 1usize..8, -30i32..30, -6i32..6, any::<bool>()).prop_flat_map(
        |(rows, cols, scale_exp, offset_exp, negative)| {
            let scale = 10f32.powi(scale_exp);
            let offset = if negative { -1.0 } else { 1.0 } * 10f32.powi(offset_exp * 6);
            (
                prop::collection::vec(-1f32..=1.0, rows * cols),
                prop::collection::vec(any::<bool>(), cols),
            )
                .prop_map(move |(u, constant)| {
                    Array2::from_shape_fn((rows, cols), |(r, c)| {
                        let u = if constant[c] { u[c] } else { u[r * cols + c] };
                        offset + scale * u
                    })
                })
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip_within_quantisation_bound(m in matrix_strategy(), method in method_strategy()) {
        let cm = CompressedMatrix::new(m.view(), method);
        let mut bytes = Vec::new();
        cm.write(&mut bytes).expect("write to Vec");
        let token_len = cm.token().len() + 1;
        let back = CompressedMatrix::read_after_token(cm.token(), &mut &bytes[token_len..])
            .expect("read back");
        prop_assert_eq!(&back, &cm);
        let decoded = back.to_matrix();
        prop_assert_eq!(decoded.dim(), m.dim());
        let bound = error_bound(m.view(), method);
        for ((rc, a), (b, tol)) in decoded.indexed_iter().zip(m.iter().zip(bound.iter())) {
            prop_assert!((a - b).abs() <= *tol, "{:?}: {} vs {}, bound {}", rc, a, b, tol);
        }
    }

    #[test]
    fn fixed_range_methods_never_panic(m in matrix_strategy(), n in prop_oneof![Just(4), Just(6), Just(7)]) {
        let cm = CompressedMatrix::new(m.view(), method(n));
        let decoded = cm.to_matrix();
        prop_assert_eq!(decoded.dim(), m.dim());
        // Values inside the fixed range come back within one step.
        let (lo, hi, step) = match n {
            4 => (-32768.0, 32767.0, 1.0),
            6 => (0.0, 255.0, 1.0),
            _ => (0.0, 1.0, 1.0 / 255.0),
        };
        for (a, b) in decoded.iter().zip(m.iter()) {
            if (lo..=hi).contains(b) {
                prop_assert!((a - b).abs() <= step, "{} vs {}", a, b);
            }
        }
    }

    #[test]
    fn any_finite_values_never_panic(
        rows in 1usize..12,
        cols in 1usize..5,
        values in prop::collection::vec(
            prop::num::f32::NORMAL | prop::num::f32::SUBNORMAL | prop::num::f32::ZERO, 60),
        n in 1i32..=7,
    ) {
        // Ranges up to 2 * f32::MAX overflow to infinity: Kaldi gives garbage there, we must
        // only not panic, and the bytes must read back unchanged.
        let m = Array2::from_shape_fn((rows, cols), |(r, c)| values[(r * cols + c) % 60]);
        let cm = CompressedMatrix::new(m.view(), method(n));
        prop_assert_eq!(cm.to_matrix().dim(), (rows, cols));
        let mut bytes = Vec::new();
        cm.write(&mut bytes).expect("write to Vec");
        let back = CompressedMatrix::read_after_token(cm.token(), &mut &bytes[cm.token().len() + 1..])
            .expect("read back");
        prop_assert_eq!(back, cm);
    }

    #[test]
    fn random_bytes_never_panic(
        token in prop_oneof![Just("CM"), Just("CM2"), Just("CM3"), Just("FM"), Just("")],
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        if let Ok(cm) = CompressedMatrix::read_after_token(token, &mut bytes.as_slice()) {
            let m = cm.to_matrix();
            prop_assert_eq!(m.dim(), (cm.num_rows(), cm.num_cols()));
            let mut out = Vec::new();
            cm.write(&mut out).expect("write to Vec");
        }
    }

    #[test]
    fn small_headers_with_random_data_never_panic(
        token in prop_oneof![Just("CM"), Just("CM2"), Just("CM3")],
        min in any::<f32>(),
        range in any::<f32>(),
        rows in 0i32..6,
        cols in 0i32..6,
        body in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&min.to_le_bytes());
        bytes.extend_from_slice(&range.to_le_bytes());
        bytes.extend_from_slice(&rows.to_le_bytes());
        bytes.extend_from_slice(&cols.to_le_bytes());
        bytes.extend_from_slice(&body);
        if let Ok(cm) = CompressedMatrix::read_after_token(token, &mut bytes.as_slice()) {
            let m = cm.to_matrix();
            prop_assert_eq!(m.dim(), (cm.num_rows(), cm.num_cols()));
            let mut out = Vec::new();
            cm.write(&mut out).expect("write to Vec");
            // What was read is written back unchanged.
            let consumed = 16 + if cols == 0 { 0 } else { out.len() - token.len() - 1 - 16 };
            if cols > 0 {
                prop_assert_eq!(&out[token.len() + 1..], &bytes[..consumed]);
            }
        }
    }
}
