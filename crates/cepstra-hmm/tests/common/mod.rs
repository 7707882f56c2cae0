//! The synthetic corpus the HMM integration tests share.

use ndarray::Array2;

/// Deterministic pseudo-random numbers in [-0.5, 0.5).
pub fn noise(i: u64) -> f32 {
    let x = i
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((x >> 40) as f32) / (1u64 << 24) as f32 - 0.5
}

/// `n` utterances per class of 3 classes; class c's utterance walks through 4 segments whose
/// means depend on c. Utterance ids and labels in text order.
pub type Corpus = (Vec<(String, Array2<f32>)>, Vec<(String, String)>);

pub fn corpus(n: usize, short: bool) -> Corpus {
    let mut feats = Vec::new();
    let mut text = Vec::new();
    for u in 0..3 * n {
        let c = u % 3;
        let t = if short && u == 4 {
            2
        } else {
            14 + (u * 7) % 11
        };
        let x = Array2::from_shape_fn((t, 3), |(i, j)| {
            let seg = (i * 4 / t) as f32;
            seg * (1.0 + c as f32) * if j == 1 { -1.0 } else { 1.0 }
                + 0.6 * noise((u * 1000 + i * 10 + j) as u64)
        });
        let id = format!("utt{u:03}");
        feats.push((id.clone(), x));
        text.push((id, format!("w{c}")));
    }
    (feats, text)
}
