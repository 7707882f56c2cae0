#!/usr/bin/env bash
# validate_data_dir.sh [options] DATA: Kaldi's utils/validate_data_dir.sh, implemented by `cepstra validate-data-dir`
# (see `cepstra validate-data-dir --help` for the options, e.g. --no-feats --no-text --no-wav).
# Needs `cepstra` on PATH: source an egs dir's path.sh first.
set -euo pipefail
if ! command -v cepstra >/dev/null; then
  echo "$0: cepstra is not on PATH; run from egs/<corpus>/ after '. ./path.sh'" >&2
  exit 1
fi
exec cepstra validate-data-dir "$@"
