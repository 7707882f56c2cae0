#!/usr/bin/env python3
"""mfcc_knf.py WAV_SCP: time kaldi-native-fbank MFCC (13 ceps, 23 bins, dither 0, no energy) on the
wavs of an scp (absolute paths), audio preloaded as in the anchors. Prints `knf SECONDS FRAMES`."""
import sys
import time
import wave

import kaldi_native_fbank as knf
import numpy as np

paths = [line.split(maxsplit=1)[1].strip() for line in open(sys.argv[1])]
audio = []
for p in paths:
    with wave.open(p) as w:
        audio.append((w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)))
opts = knf.MfccOptions()
opts.frame_opts.dither = 0
opts.frame_opts.samp_freq = 8000
opts.use_energy = False
start = time.perf_counter()
frames = 0
for sr, x in audio:
    m = knf.OnlineMfcc(opts)
    m.accept_waveform(sr, (x / 32768.0).tolist())
    m.input_finished()
    frames += m.num_frames_ready
    for i in range(m.num_frames_ready):
        m.get_frame(i)
print(f"knf {time.perf_counter() - start:.3f} {frames}")
