#!/usr/bin/env bash
# make_corpus.sh [options] OUTDIR: synthesise an isolated spoken-digit corpus (11 words, labels Z 1-9 O)
# with Debian's TTS engines and write it as Kaldi data dirs.  bash + awk + espeak-ng/flite/sox; no Python.
#
# Output:
#   OUTDIR/train, OUTDIR/test: wav.scp (utt -> absolute wav path), text (utt -> Z|1..9|O), utt2spk, spk2utt
#   OUTDIR/wav/<spk>/<utt>.wav: 8 kHz, 16-bit, mono PCM.  OUTDIR/synth.conf: settings + package versions.
# A "speaker" is a TTS voice (espeak-ng accent+variant, flite voice) plus a fixed per-speaker vocal-tract warp
# (sox speed) and pitch offset; train and test share no speaker and no espeak-ng variant.  With the defaults:
# 31 train speakers x 11 words x 3 takes = 1023 utterances, 8 test speakers = 264, about 14 MB, 40-70 s.
# The same options and the same package versions give a byte-identical corpus (whatever --nj); a re-run
# with the same settings does nothing.  Reference accuracy (kaldi-native-fbank MFCC + CMN + deltas,
# scikit-learn full-covariance GMM per word): about 0.91 at K=5 and 0.85 at K=1.
#
# Options [default]:
#   --seed N [1]              random draws of the corpus (not the GMM seed of run.sh)
#   --preset P [default]      easy | default | hard: spread of speaker warp, noise level, channel filtering
#   --train-takes N [3], --test-takes N [3]   takes per word per speaker (1..9)
#   --engines L [espeak,flite]   add ",festival" for two more voices (festival festvox-kdlpc16k festvox-us-slt-hts)
#   --speakers FILE []        lines "train|test SPKID engine voice" replacing the built-in speaker table
#   --nj N [nproc]            parallel workers (the output does not depend on it)
#   --dry-run true|false [false]   print one line of random draws per utterance and stop
# Missing espeak-ng, flite or sox are installed with apt-get when running as root on Debian; otherwise the
# script stops and prints the apt-get command to run.
set -euo pipefail
export LC_ALL=C

seed=1; preset=default; train_takes=3; test_takes=3; engines=espeak,flite; speakers=; nj=$(nproc); dry_run=false
help_message=$(awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0")
root=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=SCRIPTDIR/../../../scripts/parse_options.sh
. "$root/scripts/parse_options.sh"
if [ $# -ne 1 ]; then printf '%s\n' "$help_message" >&2; exit 1; fi
out=$(realpath -m "$1"); t0=$(date +%s)
for t in "$train_takes" "$test_takes"; do
  case $t in [1-9]) ;; *) echo "$0: --train-takes/--test-takes must be 1..9, got $t" >&2; exit 1 ;; esac
done
[[ $nj =~ ^[1-9][0-9]*$ ]] || { echo "$0: --nj must be a positive integer" >&2; exit 1; }

# preset: speaker warp (sox speed range), per-speaker pitch offset (cents), noise (dB below the speech peak),
# channel (highpass Hz range, lowpass Hz range), per-take jitter of the warp.
case $preset in
  easy)    warp="0.96 1.04"; spitch=100; noise="45 60"; hp="60 100";  lp="3900 3900"; jit=0.01 ;;
  default) warp="0.90 1.10"; spitch=200; noise="30 50"; hp="60 200";  lp="3200 3900"; jit=0.02 ;;
  hard)    warp="0.86 1.14"; spitch=300; noise="18 35"; hp="80 300";  lp="2600 3800"; jit=0.03 ;;
  *) echo "$0: unknown --preset $preset (easy, default or hard)" >&2; exit 1 ;;
esac

# ---- tools: install what is missing when we can, else say exactly what to install.
pkgs=()
command -v sox >/dev/null && command -v soxi >/dev/null || pkgs+=(sox)
case ,$engines, in *,espeak,*) command -v espeak-ng >/dev/null || pkgs+=(espeak-ng) ;; esac
case ,$engines, in *,flite,*) command -v flite >/dev/null || pkgs+=(flite) ;; esac
case ,$engines, in *,festival,*) command -v festival >/dev/null || pkgs+=(festival festvox-kdlpc16k festvox-us-slt-hts) ;; esac
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "$0: installing ${pkgs[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${pkgs[@]}" >/dev/null ||
      { apt-get update -q >/dev/null && apt-get install -y -q "${pkgs[@]}" >/dev/null; } ||
      { echo "$0: apt-get install ${pkgs[*]} failed" >&2; exit 1; }
  else
    echo "$0: missing ${pkgs[*]}; install with:  sudo apt-get install -y ${pkgs[*]}" >&2
    exit 1
  fi
fi

ver() { dpkg-query -W -f='${Package}=${Version} ' "$@" 2>/dev/null || true; }
pk=(sox libsox3)
case ,$engines, in *,espeak,*) pk+=(espeak-ng espeak-ng-data) ;; esac
case ,$engines, in *,flite,*) pk+=(flite libflite1) ;; esac
case ,$engines, in *,festival,*) pk+=(festival festvox-kdlpc16k festvox-us-slt-hts) ;; esac
conf="script=$(md5sum < "$0" | cut -c1-12) seed=$seed preset=$preset train_takes=$train_takes test_takes=$test_takes engines=$engines
speakers=${speakers:-builtin} $( [ -z "$speakers" ] || md5sum < "$speakers" | cut -c1-12)
packages: $(ver "${pk[@]}")"
if ! $dry_run && [ -f "$out/.done" ] && [ "$(cat "$out/synth.conf" 2>/dev/null)" = "$conf" ]; then
  echo "$0: $out is up to date" >&2; exit 0
fi
if $dry_run; then
  tmp=$(mktemp -d)   # OUTDIR is left alone
else
  # Only files this script made earlier (the check keeps a mistyped OUTDIR from being emptied).
  if [ -d "$out/wav" ] && [ ! -f "$out/synth.conf" ] && [ ! -d "$out/.tmp" ]; then
    echo "$0: $out/wav exists but was not made by this script; choose another OUTDIR" >&2; exit 1
  fi
  rm -rf "$out/train" "$out/test" "$out/wav" "$out/.tmp" "$out/.done" "$out/synth.conf"
  mkdir -p "$out/train" "$out/test" "$out/wav" "$out/.tmp"
  tmp=$out/.tmp
fi

# ---- speaker table: split spk engine voice.  espeak-ng: 7 accents x (4 train + 1 test) variants; the 7 test
# variants never occur in train.  flite: kal rms slt train, awb (Scottish male) test; slt, the only natural
# female voice, stays in train (as a test speaker it scores ~40%).  Unique 4-character prefixes keep Kaldi's
# sort orders consistent (speaker id = prefix of the utterance id).
default_speakers() { cat <<'EOT'
train es01_us_m1       espeak   en-us+m1
train es02_us_f1       espeak   en-us+f1
train es03_us_klatt    espeak   en-us+klatt
train es04_us_david    espeak   en-us+david
train es05_gb_m2       espeak   en-gb+m2
train es06_gb_f2       espeak   en-gb+f2
train es07_gb_klatt2   espeak   en-gb+klatt2
train es08_gb_adam     espeak   en-gb+adam
train es09_rp_m3       espeak   en-gb-x-rp+m3
train es10_rp_f3       espeak   en-gb-x-rp+f3
train es11_rp_linda    espeak   en-gb-x-rp+linda
train es12_rp_robert   espeak   en-gb-x-rp+robert
train es13_sc_m4       espeak   en-gb-scotland+m4
train es14_sc_f4       espeak   en-gb-scotland+f4
train es15_sc_klatt    espeak   en-gb-scotland+klatt
train es16_sc_annie    espeak   en-gb-scotland+Annie
train es17_la_m5       espeak   en-gb-x-gbclan+m5
train es18_la_f2       espeak   en-gb-x-gbclan+f2
train es19_la_klatt2   espeak   en-gb-x-gbclan+klatt2
train es20_la_max      espeak   en-gb-x-gbclan+max
train es21_wm_m6       espeak   en-gb-x-gbcwmd+m6
train es22_wm_f3       espeak   en-gb-x-gbcwmd+f3
train es23_wm_robert   espeak   en-gb-x-gbcwmd+robert
train es24_wm_david    espeak   en-gb-x-gbcwmd+david
train es25_ca_m1       espeak   en-029+m1
train es26_ca_f4       espeak   en-029+f4
train es27_ca_annie    espeak   en-029+Annie
train es28_ca_adam     espeak   en-029+adam
test  es29_us_m8       espeak   en-us+m8
test  es30_gb_steph    espeak   en-gb+steph
test  es31_rp_klatt3   espeak   en-gb-x-rp+klatt3
test  es32_sc_m7       espeak   en-gb-scotland+m7
test  es33_la_f5       espeak   en-gb-x-gbclan+f5
test  es34_wm_belinda  espeak   en-gb-x-gbcwmd+belinda
test  es35_ca_edward   espeak   en-029+edward
train fl01_kal          flite    kal
train fl02_rms          flite    rms
train fl03_slt          flite    slt
test  fl04_awb          flite    awb
train fe01_ked          festival voice_ked_diphone
test  fe02_slthts       festival voice_cmu_us_slt_arctic_hts
EOT
}
if [ -n "$speakers" ]; then cat "$speakers"; else default_speakers; fi \
  | awk -v e=",$engines," 'NF >= 4 && $1 !~ /^#/ && index(e, "," $3 ",")' > "$tmp/speakers"
awk '$1 != "train" && $1 != "test" { print "bad split in speaker table: " $0 > "/dev/stderr"; bad = 1 }
     seen[$2]++ { print "duplicate speaker: " $2 > "/dev/stderr"; bad = 1 } END { exit bad }' "$tmp/speakers"
[ -s "$tmp/speakers" ] || { echo "$0: no speakers for --engines $engines" >&2; exit 1; }
# espeak-ng silently falls back to the plain voice for an unknown (or wrongly cased) variant, and flite to kal
# for an unknown voice: check every voice up front.  The lists are captured first: with pipefail,
# "espeak-ng ... | grep -q" fails when grep exits early and espeak-ng gets SIGPIPE.
es_langs=$(espeak-ng --voices 2>/dev/null | awk 'NR > 1 {print $2}' || true)
es_vars=$(espeak-ng --voices=variant 2>/dev/null | awk 'NR > 1 {print $NF}' | sed 's|^!v/||' || true)
fl_voices=$(flite -lv 2>/dev/null | tr ' ' '\n' || true)
while read -r _ spk eng voice; do
  case $eng in
    espeak) grep -qxF "${voice%%+*}" <<< "$es_langs" &&
            { [ "$voice" = "${voice%%+*}" ] || grep -qxF "${voice#*+}" <<< "$es_vars"; } ;;
    flite) grep -qxF "$voice" <<< "$fl_voices" ;;
    festival) true ;;  # a missing festival voice makes festival fail below
    *) false ;;
  esac || { echo "$0: unknown voice for $spk: $eng $voice" >&2; exit 1; }
done < "$tmp/speakers"

# ---- one line per utterance with all its random draws.  Own Park-Miller RNG (mawk and gawk rand() differ)
# and fixed iteration orders ("for (k in a)" order differs too).  Per-speaker warp and pitch offset are
# stratified within each split (speaker i of a seeded shuffle gets the i-th of N equal slices of the range):
# with plain random draws K=5 accuracy swung 84-94% with the seed.  Per-take draws: RNG seeded by seed+speaker.
awk -v seed="$seed" -v warp="$warp" -v spitch="$spitch" -v noise="$noise" -v hp="$hp" -v lp="$lp" \
    -v jit="$jit" -v ttr="$train_takes" -v tte="$test_takes" -v out="$out" '
function rnd() { st = (st * 16807) % 2147483647; return st / 2147483647 }
function U(a, b) { return a + (b - a) * rnd() }
function hash(s,   h, i) { h = seed % 1000003; for (i = 1; i <= length(s); i++) h = (h * 131 + index(cs, substr(s, i, 1))) % 2147483629; return h + 1 }
BEGIN { cs = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+."
  split("zero one two three four five six seven eight nine oh", W, " "); split("Z 1 2 3 4 5 6 7 8 9 O", L, " ")
  split(warp, wr, " "); split(noise, nz, " "); split(hp, hq, " "); split(lp, lq, " ")
  split("white pink brown", NT, " "); f0["kal"] = 100; f0["awb"] = 100; f0["rms"] = 95; f0["slt"] = 165 }
function shuffle(sp, key,   i, j, k, t, a) { for (i = 0; i < ns[sp]; i++) a[i] = i
  for (i = ns[sp] - 1; i > 0; i--) { j = int(rnd() * (i + 1)); t = a[i]; a[i] = a[j]; a[j] = t }
  for (i = 0; i < ns[sp]; i++) { k = sl[sp, i]; rank[key, k] = a[i] } }
NR == FNR { sl[$1, ns[$1]++] = $2; next }
FNR == 1 { st = seed % 2147483646 + 1; shuffle("train", "v"); shuffle("train", "p"); shuffle("test", "v")
  shuffle("test", "p") }
{ sp = $1; spk = $2; eng = $3; voice = $4; st = hash(spk); for (i = 0; i < 5; i++) rnd()
  vtl = wr[1] + (wr[2] - wr[1]) * (rank["v", spk] + rnd()) / ns[sp]
  cent0 = spitch * (2 * (rank["p", spk] + rnd()) / ns[sp] - 1); epitch = U(30, 70); erate = U(145, 185)
  takes = (sp == "test") ? tte : ttr
  for (w = 1; w <= 11; w++) for (t = 1; t <= takes; t++) {
    if (eng == "espeak") { p1 = int(erate * U(0.85, 1.15)); p2 = int(epitch + U(-12, 12)) }
    else if (eng == "flite") { p1 = sprintf("%.3f", U(0.85, 1.25)); p2 = int((voice in f0 ? f0[voice] : 110) * U(0.85, 1.2)) }
    else { p1 = sprintf("%.3f", U(0.85, 1.25)); p2 = 0 }
    spd = vtl * U(1 - jit, 1 + jit); cents = cent0 + U(-80, 80); gain = U(-12, -1)
    pl = U(0.03, 0.25); pr = U(0.03, 0.25); ty = NT[1 + int(3 * rnd())]; nl = U(nz[1], nz[2])
    nv = exp(log(10) * (19 + gain - nl) / 20); off = int(U(0, 27 * 8000))
    h = int(U(hq[1], hq[2])); l = int(U(lq[1], lq[2]))
    utt = spk "-" L[w] substr("ABCDEFGHI", t, 1)
    printf "%s %s %s %s %s %s %s %s %s %.4f %.1f %.2f %.3f %.3f %s %.5f %d %d %d %s/wav/%s/%s.wav\n", \
      sp, utt, spk, eng, voice, W[w], L[w], p1, p2, spd, cents, gain, pl, pr, ty, nv, off, h, l, out, spk, utt
  } }' "$tmp/speakers" "$tmp/speakers" > "$tmp/jobs"

if $dry_run; then cat "$tmp/jobs"; rm -rf "$tmp"; exit 0; fi

# ---- noise beds: 30 s each of white/pink/brown at -20 dBFS RMS (sox -R: repeatable generator).
for ty in white pink brown; do
  sox -R -D -n -r 8000 -b 16 -c 1 "$tmp/n.wav" synth 30 "${ty}noise" gain -n -3
  rms=$(sox "$tmp/n.wav" -n stats 2>&1 | awk '/^RMS lev dB/ {print $4}')
  sox -R -D "$tmp/n.wav" "$tmp/$ty.wav" gain "$(awk -v r="$rms" 'BEGIN{printf "%.2f", -20 - r}')"
done

# ---- festival: one batch process per voice writes all its raw takes (one process per take is 0.2-0.7 s).
awk '$4 == "festival" {print $3}' "$tmp/jobs" | sort -u | while read -r spk; do
  mkdir -p "$tmp/fest"
  awk -v s="$spk" -v d="$tmp/fest" '$3 == s { if (!v++) print "(" $5 ")"
    printf "(Parameter.set (quote Duration_Stretch) %s)\n(utt.save.wave (utt.synth (Utterance Text \"%s\")) \"%s/%s.wav\" (quote riff))\n", $8, $6, d, $2 }' \
    "$tmp/jobs" > "$tmp/fest_$spk.scm"
  festival -b "$tmp/fest_$spk.scm" > "$tmp/fest_$spk.log" 2>&1
done

# ---- per utterance: TTS -> 16 kHz (TTS rates differ: espeak-ng 22050, flite kal 8000, others 16000; a lowpass
# near 4 kHz after "speed" < 1 on 8 kHz audio is above Nyquist) -> norm -6 (headroom: the filters overshoot)
# -> trim TTS silence below -55 dBFS (keeps weak /f/ /th/ onsets; flite leaves -55..-60 dB hiss that would
# identify the engine) -> warp -> pitch shift -> channel band-limit -> norm -1, level -> random pads -> 8 kHz
# -> mix a random slice of a noise bed.  sox -D everywhere: its dither is seeded randomly on each run.
gen() {  # explicit "|| return": set -e does not apply inside a function called from "||"
  local utt=$2 eng=$4 voice=$5 word=$6 p1=$8 p2=$9 spd=${10} cents=${11} gain=${12} pl=${13} \
        pr=${14} ty=${15} nv=${16} off=${17} h=${18} l=${19} wav=${20} raw=$tmp/$2.raw.wav clean=$tmp/$2.clean.wav n
  case $eng in
    espeak) espeak-ng -v "$voice" -s "$p1" -p "$p2" -w "$raw" "$word" || return ;;
    flite) flite -voice "$voice" --setf duration_stretch="$p1" --setf int_f0_target_mean="$p2" -t "$word" \
             -o "$raw" || return ;;
    festival) mv "$tmp/fest/$utt.wav" "$raw" || return ;;
  esac
  sox -D -V1 "$raw" -r 8000 -b 16 -c 1 "$clean" rate -h 16000 norm -6 silence 1 0.01 -55d reverse \
    silence 1 0.01 -55d reverse speed "$spd" pitch "$cents" highpass "$h" lowpass "$l" norm -1 gain "$gain" \
    pad "$pl" "$pr" || return
  n=$(soxi -s "$clean") || return
  if [ "$n" -le 800 ]; then echo "$utt: empty after trimming" >&2; return 1; fi
  mkdir -p "${wav%/*}"
  sox -D -V1 -m -v 1 "$clean" -v "$nv" "|sox -D $tmp/$ty.wav -p trim ${off}s ${n}s" "$wav" || return
  rm -f "$raw" "$clean"
}
pids=()
for ((k = 0; k < nj; k++)); do
  awk -v k=$k -v nj="$nj" '(NR - 1) % nj == k' "$tmp/jobs" > "$tmp/jobs.$k"
  # one byte in done.K per utterance made, for the progress line (a redirection: no process started)
  ( while read -r -a a; do gen "${a[@]}" || { echo "$0: failed: ${a[1]}" >&2; exit 1; }; printf . >> "$tmp/done.$k"
    done < "$tmp/jobs.$k" ) &
  pids+=($!)
done
# progress: a line every 10 s (the synthesis takes about a minute)
total=$(wc -l < "$tmp/jobs")
echo "$0: synthesising $total utterances in $nj workers" >&2
( s=; trap 'kill $s 2> /dev/null; exit 0' TERM   # (the sleep too: it holds stderr open)
  while sleep 10 & s=$!; wait $s; do
    n=$(cat "$tmp"/done.* 2>/dev/null | wc -c)
    echo "$0: $n of $total utterances synthesised ($(( $(date +%s) - t0 )) s)" >&2
  done ) &
progress=$!
trap 'kill "$progress" 2>/dev/null || true' EXIT
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
kill "$progress" 2>/dev/null; wait "$progress" 2>/dev/null || true
[ $fail -eq 0 ] || { echo "$0: synthesis failed (see the messages above); $out is incomplete" >&2; exit 1; }

for sp in train test; do
  awk -v s=$sp -v d="$out/$sp" '$1 == s { print $2, $20 > d "/wav.scp"; print $2, $7 > d "/text"; print $2, $3 > d "/utt2spk" }' \
    "$tmp/jobs"
  for f in wav.scp text utt2spk; do sort -o "$out/$sp/$f" "$out/$sp/$f"; done
  "$root/scripts/utt2spk_to_spk2utt.pl" "$out/$sp/utt2spk" > "$out/$sp/spk2utt"
done
missing=$(awk '{print $20}' "$tmp/jobs" | while read -r f; do [ -s "$f" ] || echo "$f"; done | wc -l)
[ "$missing" -eq 0 ] || { echo "$0: $missing wavs missing" >&2; exit 1; }
rm -rf "$tmp"
printf '%s\n' "$conf" > "$out/synth.conf"; touch "$out/.done"
echo "$0: $out: train $(wc -l < "$out/train/text") utts/$(wc -l < "$out/train/spk2utt") spk," \
  "test $(wc -l < "$out/test/text") utts/$(wc -l < "$out/test/spk2utt") spk, $(du -sh "$out/wav" | cut -f1)," \
  "$(( $(date +%s) - t0 )) s" >&2
