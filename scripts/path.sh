# shellcheck shell=bash
# scripts/path.sh (sourced through egs/*/path.sh): sourced by run.sh and by every recipe.  C-locale sorting, the cepstra binary, scripts/ and
# recipes/ on PATH.  Builds target/release/cepstra (cargo build --release -p cepstra-cli) when it is missing
# or older than Cargo.toml, Cargo.lock or any file under crates/.  Set CEPSTRA_NO_BUILD=true to skip the
# check (e.g. on cluster nodes that share an already built tree).
export LC_ALL=C
_cepstra_dir=${BASH_SOURCE[0]%/*}; [[ ${BASH_SOURCE[0]} == */* ]] || _cepstra_dir=.
CEPSTRA_ROOT=$(cd "$_cepstra_dir/.." && pwd)   # (no dirname: each process costs a few ms, per recipe)
export CEPSTRA_ROOT
_cepstra_bin=${CARGO_TARGET_DIR:-$CEPSTRA_ROOT/target}/release
# Each directory on its own: one of them may already be on PATH (e.g. the binary's, set by CI).
for _cepstra_dir in "$CEPSTRA_ROOT/recipes" "$CEPSTRA_ROOT/scripts" "$_cepstra_bin"; do
  case :$PATH: in
    *:"$_cepstra_dir":*) ;;
    *) PATH=$_cepstra_dir:$PATH ;;
  esac
done
export PATH
unset _cepstra_dir
# Checked once per run: the recipes that run.sh calls source path.sh again and skip the check.
if [ "${CEPSTRA_NO_BUILD:-false}" != true ] && [ "${CEPSTRA_BUILD_CHECKED:-}" != "$_cepstra_bin" ]; then
  if [ ! -x "$_cepstra_bin/cepstra" ] ||
     [ -n "$(find "$CEPSTRA_ROOT/Cargo.toml" "$CEPSTRA_ROOT/Cargo.lock" "$CEPSTRA_ROOT/crates" \
               -type f -newer "$_cepstra_bin/cepstra" -print -quit 2>/dev/null)" ]; then
    echo "path.sh: building cepstra (cargo build --release -p cepstra-cli) ..." >&2
    (cd "$CEPSTRA_ROOT" && cargo build --release --quiet -p cepstra-cli) ||
      { echo "path.sh: cargo build --release -p cepstra-cli failed" >&2; return 1; }
    # cargo does not relink when only tests or docs changed: mark the binary as checked
    touch "$_cepstra_bin/cepstra"
  fi
fi
export CEPSTRA_BUILD_CHECKED=$_cepstra_bin
unset _cepstra_bin
