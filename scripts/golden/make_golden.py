#!/usr/bin/env python3
"""Generate extra reference features with kaldi-native-fbank (knf) for cepstra-feat's tests.

Writes into crates/cepstra-feat/tests/data/knf/ (or --out):
  wav/<name>.wav   synthetic 16-bit mono signals (fixed numpy seeds; no corpus data)
  <NN>.ark.txt     Kaldi text archives (`key  [ ... ]`) computed by knf
  INDEX.tsv        ark <tab> wav <tab> Kaldi-style command (program + --options)
  README.md        versions, commands, tolerance

knf takes float samples and does not rescale them; Kaldi reads WAV files as int16 values
(+-32768). The signals are therefore made on the int16 scale, rounded to integers (so the WAV
holds them exactly) and passed to knf unchanged, which gives what `compute-mfcc-feats` would.
knf's own defaults differ from Kaldi's (dither 3e-5, slaney/librosa switches): every option below
is set explicitly, with is_librosa false.

Usage: python3 -m venv /tmp/venv-knf && /tmp/venv-knf/bin/pip install kaldi-native-fbank numpy
       /tmp/venv-knf/bin/python scripts/golden/make_golden.py
"""

import argparse
import os
import platform
import sys
import wave

import numpy as np
import kaldi_native_fbank as knf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(ROOT, "crates", "cepstra-feat", "tests", "data", "knf")


# ---------------------------------------------------------------- signals (int16 scale)

def to_int16(x):
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def sig_tones8k():
    """8 kHz, 1.1 s: three tones with a vibrato, 50 ms of exact zeros in the middle."""
    sr, n = 8000, 8800
    t = np.arange(n) / sr
    x = (6000 * np.sin(2 * np.pi * 300 * t + 3 * np.sin(2 * np.pi * 5 * t))
         + 2500 * np.sin(2 * np.pi * 1250 * t)
         + 800 * np.sin(2 * np.pi * 3100 * t))
    x[4000:4400] = 0.0
    return sr, to_int16(x)


def sig_noise16k():
    """16 kHz, 0.73 s: coloured noise (AR(2) resonance) under a rising/falling envelope."""
    sr, n = 16000, 11680
    rng = np.random.RandomState(11)
    e = rng.randn(n)
    y = np.zeros(n)
    for i in range(2, n):
        y[i] = e[i] + 1.6 * y[i - 1] - 0.8 * y[i - 2]
    env = np.sin(np.pi * np.arange(n) / n) ** 2
    return sr, to_int16(300 * y * env)


def sig_clicks11k():
    """11025 Hz, 0.6 s: a click train plus quiet noise (non-power-of-two FFT sizes)."""
    sr, n = 11025, 6615
    rng = np.random.RandomState(5)
    x = 40 * rng.randn(n)
    x[::441] += 20000
    return sr, to_int16(x)


def sig_short16k():
    """16 kHz, 450 samples: shorter than two frames (edge handling)."""
    sr, n = 16000, 450
    rng = np.random.RandomState(3)
    t = np.arange(n) / sr
    return sr, to_int16(3000 * np.sin(2 * np.pi * 700 * t) + 200 * rng.randn(n))


SIGNALS = {
    "tones8k": sig_tones8k,
    "noise16k": sig_noise16k,
    "clicks11k": sig_clicks11k,
    "short16k": sig_short16k,
}

# ---------------------------------------------------------------- option sets
# (signal, Kaldi-style command). --dither=0 everywhere (knf's dither is random).
CASES = [
    ("tones8k", "compute-mfcc-feats --sample-frequency=8000 --dither=0"),
    ("tones8k", "compute-mfcc-feats --sample-frequency=8000 --dither=0 --use-energy=false --htk-compat=true --num-ceps=15 --num-mel-bins=20"),
    ("tones8k", "compute-fbank-feats --sample-frequency=8000 --dither=0 --window-type=sine --preemphasis-coefficient=0.5 --use-power=false"),
    ("noise16k", "compute-mfcc-feats --sample-frequency=16000 --dither=0 --use-energy=false --frame-length=32 --frame-shift=12.5"),
    ("noise16k", "compute-fbank-feats --sample-frequency=16000 --dither=0 --num-mel-bins=80 --use-energy=true --raw-energy=false --snip-edges=false"),
    ("noise16k", "compute-mfcc-feats --sample-frequency=16000 --dither=0 --window-type=blackman --blackman-coeff=0.4 --cepstral-lifter=30 --energy-floor=2.0"),
    ("clicks11k", "compute-mfcc-feats --sample-frequency=11025 --dither=0 --frame-length=20 --round-to-power-of-two=false --use-energy=false"),
    ("clicks11k", "compute-fbank-feats --sample-frequency=11025 --dither=0 --low-freq=50 --high-freq=5000 --use-log-fbank=false --num-mel-bins=30"),
    ("short16k", "compute-mfcc-feats --sample-frequency=16000 --dither=0 --snip-edges=false --use-energy=false"),
    ("short16k", "compute-fbank-feats --sample-frequency=16000 --dither=0 --snip-edges=false --use-energy=true --htk-compat=true"),
]
# Deltas of one MFCC case: (case index, order, window)
DELTA_CASES = [(0, 2, 2), (3, 3, 1)]

FRAME = {
    "sample-frequency": ("samp_freq", float),
    "frame-length": ("frame_length_ms", float),
    "frame-shift": ("frame_shift_ms", float),
    "dither": ("dither", float),
    "preemphasis-coefficient": ("preemph_coeff", float),
    "remove-dc-offset": ("remove_dc_offset", "bool"),
    "window-type": ("window_type", str),
    "round-to-power-of-two": ("round_to_power_of_two", "bool"),
    "blackman-coeff": ("blackman_coeff", float),
    "snip-edges": ("snip_edges", "bool"),
}
MEL = {
    "num-mel-bins": ("num_bins", int),
    "low-freq": ("low_freq", float),
    "high-freq": ("high_freq", float),
}
TOP = {
    "num-ceps": ("num_ceps", int),
    "use-energy": ("use_energy", "bool"),
    "energy-floor": ("energy_floor", float),
    "raw-energy": ("raw_energy", "bool"),
    "cepstral-lifter": ("cepstral_lifter", float),
    "htk-compat": ("htk_compat", "bool"),
    "use-log-fbank": ("use_log_fbank", "bool"),
    "use-power": ("use_power", "bool"),
}


def conv(kind, v):
    if kind == "bool":
        assert v in ("true", "false"), v
        return v == "true"
    return kind(v)


def knf_options(cmd):
    words = cmd.split()
    program = words[0]
    if program == "compute-mfcc-feats":
        o = knf.MfccOptions()
    elif program == "compute-fbank-feats":
        o = knf.FbankOptions()
    else:
        raise ValueError(program)
    # Kaldi defaults where knf differs
    o.frame_opts.dither = 1.0
    o.mel_opts.is_librosa = False
    o.mel_opts.num_bins = 23
    for w in words[1:]:
        k, v = w[2:].split("=", 1)
        if k in FRAME:
            name, kind = FRAME[k]
            setattr(o.frame_opts, name, conv(kind, v))
        elif k in MEL:
            name, kind = MEL[k]
            setattr(o.mel_opts, name, conv(kind, v))
        elif k in TOP:
            name, kind = TOP[k]
            setattr(o, name, conv(kind, v))
        else:
            raise ValueError("unknown option " + k)
    return program, o


def compute(cmd, sr, samples):
    program, o = knf_options(cmd)
    assert abs(o.frame_opts.samp_freq - sr) < 1e-3, (cmd, sr)
    comp = knf.OnlineMfcc(o) if program == "compute-mfcc-feats" else knf.OnlineFbank(o)
    comp.accept_waveform(float(sr), samples.astype(np.float32))
    comp.input_finished()
    rows = [np.array(comp.get_frame(i), dtype=np.float32) for i in range(comp.num_frames_ready)]
    return np.stack(rows) if rows else np.zeros((0, 0), np.float32)


def write_wav(path, sr, x):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(x.astype("<i2").tobytes())


def write_text_ark(path, key, m):
    """Kaldi text form: `key  [` newline, one row per line, ` ]` after the last row."""
    with open(path, "w") as f:
        f.write(key + "  [")
        if m.shape[0] == 0:
            f.write(" ]\n")
            return
        f.write("\n")
        for i, row in enumerate(m):
            f.write("  " + " ".join(str(np.float32(v)) for v in row))  # shortest float32 round trip
            f.write(" ]\n" if i == m.shape[0] - 1 else " \n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "wav"), exist_ok=True)

    sigs = {}
    for name, fn in SIGNALS.items():
        sr, x = fn()
        sigs[name] = (sr, x)
        write_wav(os.path.join(args.out, "wav", name + ".wav"), sr, x)

    index = ["# knf reference features. ark <tab> wav <tab> command (Kaldi option names; "
             "'add-deltas' rows apply to the ark named in --of)"]
    feats = []
    for i, (name, cmd) in enumerate(CASES):
        sr, x = sigs[name]
        m = compute(cmd, sr, x)
        feats.append(m)
        ark = "%02d.ark.txt" % (i + 1)
        write_text_ark(os.path.join(args.out, ark), name, m)
        index.append("%s\twav/%s.wav\t%s" % (ark, name, cmd))
        print("%s %-10s %s -> %s" % (ark, name, cmd, m.shape))
    for j, (case, order, window) in enumerate(DELTA_CASES):
        d = knf.DeltaOptions()
        d.order, d.window = order, window
        m = knf.compute_deltas(d, feats[case])
        ark = "d%02d.ark.txt" % (j + 1)
        name = CASES[case][0]
        write_text_ark(os.path.join(args.out, ark), name, np.asarray(m, dtype=np.float32))
        cmd = "add-deltas --delta-order=%d --delta-window=%d --of=%02d.ark.txt" % (order, window, case + 1)
        index.append("%s\twav/%s.wav\t%s" % (ark, name, cmd))
        print("%s %s -> %s" % (ark, cmd, np.shape(m)))
    with open(os.path.join(args.out, "INDEX.tsv"), "w") as f:
        f.write("\n".join(index) + "\n")

    with open(os.path.join(args.out, "README.md"), "w") as f:
        f.write(README.format(
            knf=getattr(knf, "__version__", "unknown"), numpy=np.__version__,
            python=platform.python_version(), system=platform.platform()))


README = """# Reference features from kaldi-native-fbank

Generated by `scripts/golden/make_golden.py` (see `scripts/golden/README.md`); do not edit by hand.

- kaldi-native-fbank {knf} (PyPI `kaldi-native-fbank`), numpy {numpy}, Python {python}, {system}.
- `wav/*.wav`: synthetic 16-bit mono signals from fixed numpy seeds (tones with a gap of exact
  zeros at 8 kHz, coloured noise at 16 kHz, a click train at 11025 Hz, a 450-sample clip).
- `NN.ark.txt`: one Kaldi text archive per option set; `dNN.ark.txt`: `compute_deltas` of one of
  them. `INDEX.tsv` lists file, signal and the Kaldi-style command (all with `--dither=0`).
- Samples are passed to knf on the int16 scale (as Kaldi reads WAV files), so these equal
  `compute-mfcc-feats` / `compute-fbank-feats` output up to float rounding.
- Checked by `crates/cepstra-feat/tests/knf.rs` with `|ours - knf| <= 1e-3 * max(1, |knf|)`.
"""

if __name__ == "__main__":
    sys.exit(main())
