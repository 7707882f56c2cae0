#!/usr/bin/env bash
# fix_data_dir.sh [options] DATA: Kaldi's utils/fix_data_dir.sh, implemented by `cepstra fix-data-dir`
# (sorts, de-duplicates and keeps the utterances present in every file; see `cepstra fix-data-dir --help`).
# Needs `cepstra` on PATH: source an egs dir's path.sh first.
set -euo pipefail
if ! command -v cepstra >/dev/null; then
  echo "$0: cepstra is not on PATH; run from egs/<corpus>/ after '. ./path.sh'" >&2
  exit 1
fi
exec cepstra fix-data-dir "$@"
