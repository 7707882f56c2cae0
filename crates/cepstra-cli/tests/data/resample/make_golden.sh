#!/usr/bin/env bash
# Makes the resampling goldens of crates/cepstra-cli/tests/recognize.rs: synthetic WAVs (written by
# the Python below; no corpus data) and real Kaldi's compute-mfcc-feats on them with
# --allow-downsample / --allow-upsample (Kaldi's LinearResample).
#   usage: make_golden.sh KALDI_BIN_DIR      e.g. make_golden.sh ../shared/tools/kaldi-ref/out/bin
# KALDI_BIN_DIR holds compute-mfcc-feats (../shared/tools/kaldi-ref/build.sh builds it).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 KALDI_BIN_DIR" >&2; exit 1; }
kaldi=$1
cd "$(dirname "$0")"
python3 - <<'PY'
import math, struct, wave
def write(name, rate, seconds):
    n = int(rate * seconds)
    state = 12345
    out = []
    for i in range(n):
        state = (state * 1664525 + 1013904223) % 2**32
        noise = ((state >> 16) / 65536.0 - 0.5) * 400.0
        t = i / rate
        s = (4000 * math.sin(2 * math.pi * (200 + 900 * t) * t)
             + 1500 * math.sin(2 * math.pi * 1700 * t) + noise)
        out.append(int(max(-32768, min(32767, round(s)))))
    w = wave.open(name, "wb")
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate)
    w.writeframes(struct.pack("<%dh" % n, *out))
    w.close()
write("chirp16k.wav", 16000, 0.3)
write("chirp22k.wav", 22050, 0.3)
write("chirp8k.wav", 8000, 0.3)
PY
printf 'a chirp16k.wav\nb chirp22k.wav\n' > down.scp
printf 'c chirp8k.wav\n' > up.scp
opts=(--dither=0 --use-energy=false)
"$kaldi/compute-mfcc-feats" "${opts[@]}" --sample-frequency=8000 --allow-downsample=true \
  scp:down.scp ark,t:down8k.ark.txt
"$kaldi/compute-mfcc-feats" "${opts[@]}" --sample-frequency=16000 --allow-upsample=true \
  scp:up.scp ark,t:up16k.ark.txt
