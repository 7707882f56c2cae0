#!/usr/bin/env python3
"""kaldiio_interop.py CEPSTRA WORKDIR [COURSEWORK_FEATS_SCP]

Issue 2, acceptance 3: cepstra's tables and kaldiio (PyPI) read each other's files.
1. cepstra computes features and writes `ark,scp` (binary), `ark,scp,t` (text) and compressed
   `ark,scp` (copy-feats --compress); kaldiio loads every scp (so our offsets are right) and gets
   our binary values bit for bit (compared with kaldiio's own re-serialisation of what it read
   against our bytes), our text values to their 7 printed digits, our compressed values within
   kaldiio's known decompression error.
2. With the coursework feats.scp (when given): `cepstra copy-feats` of it writes exactly the bytes
   kaldiio.save_ark writes for what kaldiio read, i.e. our reader agrees with kaldiio bit for bit.
Prints one line per check and `N passed, M failed`.
"""
import io
import os
import subprocess
import sys

import kaldiio
import numpy as np

cepstra, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
coursework = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
os.makedirs(work, exist_ok=True)
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    print(("PASS " if ok else "FAIL ") + name + (f" ({detail})" if detail else ""))
    if ok:
        passed += 1
    else:
        failed += 1


def run(*args):
    subprocess.run([cepstra, *args], check=True, stderr=subprocess.DEVNULL)


def kaldiio_bytes(mats):
    buf = io.BytesIO()
    for k, m in mats.items():
        kaldiio.save_ark(buf, {k: m})
    return buf.getvalue()


here = os.path.dirname(os.path.abspath(__file__))
golden = os.path.join(here, "..", "..", "crates", "cepstra-feat", "tests", "data", "golden", "wav")
wavscp = os.path.join(work, "wav.scp")
with open(wavscp, "w") as f:
    for sr in (8000, 16000):
        f.write(f"synth{sr // 1000}k {os.path.join(golden, f'synth{sr // 1000}k.wav')}\n")

# Features at each rate (a table holds one rate; split the scp).
tables = {}
for sr in (8000, 16000):
    sub = os.path.join(work, f"wav{sr}.scp")
    with open(wavscp) as f, open(sub, "w") as g:
        g.writelines(line for line in f if line.startswith(f"synth{sr // 1000}k"))
    stem = os.path.join(work, f"mfcc{sr}")
    run("compute-mfcc-feats", f"--sample-frequency={sr}", "--dither=1", "--dither-seed=7",
        f"scp:{sub}", f"ark,scp:{stem}.ark,{stem}.scp")
    run("copy-feats", f"scp:{stem}.scp", f"ark,scp,t:{stem}.txt.ark,{stem}.txt.scp")
    run("copy-feats", "--compress=true", f"scp:{stem}.scp", f"ark,scp:{stem}.cm.ark,{stem}.cm.scp")
    tables[sr] = stem

for sr, stem in tables.items():
    ours = kaldiio.load_scp(f"{stem}.scp")
    mats = {k: ours[k] for k in ours}
    check(f"{sr} Hz: kaldiio loads our binary scp", len(mats) == 1 and all(m.dtype == np.float32 for m in mats.values()))
    with open(f"{stem}.ark", "rb") as f:
        our_bytes = f.read()
    check(f"{sr} Hz: kaldiio's values are ours bit for bit", kaldiio_bytes(mats) == our_bytes)
    text = kaldiio.load_scp(f"{stem}.txt.scp")
    err = max(float(np.max(np.abs(text[k] - mats[k]) / np.maximum(1.0, np.abs(mats[k])))) for k in mats)
    check(f"{sr} Hz: kaldiio reads our text scp to 7 digits", err < 1e-6, f"max rel diff {err:.2e}")
    cm = kaldiio.load_scp(f"{stem}.cm.scp")
    err = max(float(np.max(np.abs(cm[k] - mats[k]))) for k in mats)
    rng = max(float(np.ptp(mats[k])) for k in mats)
    check(f"{sr} Hz: kaldiio reads our compressed scp", err <= rng / 128, f"max |diff| {err:.3g}, range {rng:.3g}")

if coursework and os.path.exists(coursework):
    # Its entries (`train/feats.ark:15`) are relative to the corpus root, as Kaldi resolves them.
    os.chdir(os.path.dirname(os.path.dirname(coursework)))
    theirs = kaldiio.load_scp(coursework)
    mats = {k: theirs[k] for k in theirs}
    out = os.path.join(work, "coursework_copy.ark")
    run("copy-feats", f"scp:{coursework}", f"ark:{out}")
    with open(out, "rb") as f:
        ours = f.read()
    check(f"coursework feats ({len(mats)} utts): cepstra reads them as kaldiio does, bit for bit", ours == kaldiio_bytes(mats))
else:
    print("skip coursework check (no corpus)")

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
