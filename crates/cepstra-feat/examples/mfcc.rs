//! Synthesise a two-second 8 kHz tone with a little noise, compute Kaldi-style MFCCs with
//! deltas, and print the shape and the first frame.
//!
//! Run with `cargo run -p cepstra-feat --example mfcc`.

use cepstra_feat::{compute_deltas, DeltaFeaturesOptions, Mfcc, MfccOptions};

fn main() -> Result<(), cepstra_feat::Error> {
    let samp_freq = 8000.0f32;
    // int16-scale samples, as Kaldi reads WAV files: a 440 Hz tone at about -12 dBFS.
    let wave: Vec<f32> = (0..2 * samp_freq as usize)
        .map(|i| 8000.0 * (std::f32::consts::TAU * 440.0 * i as f32 / samp_freq).sin())
        .collect();

    let mut opts = MfccOptions::default();
    opts.frame_opts.samp_freq = samp_freq;
    opts.use_energy = false; // as Kaldi recipes' conf/mfcc.conf
    let mfcc = Mfcc::new(&opts)?;
    let feats = mfcc.compute_with_seed(&wave, 42)?; // dither 1.0 seeded with 42
    let with_deltas = compute_deltas(&DeltaFeaturesOptions::default(), feats.view())?;

    println!(
        "{} samples at {samp_freq} Hz -> MFCC {:?}, with deltas {:?}",
        wave.len(),
        feats.dim(),
        with_deltas.dim()
    );
    println!("frame 0: {:.3}", feats.row(0));
    Ok(())
}
