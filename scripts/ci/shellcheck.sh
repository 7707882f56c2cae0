#!/usr/bin/env bash
# scripts/ci/shellcheck.sh: CI stage "shellcheck" (issue 5, acceptance 4): shellcheck -x on every shell script
# under scripts/, recipes/ and egs/ (files named *.sh, and files whose first line names bash or sh); the
# "source=SCRIPTDIR/..." directives resolve sourced files.  Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v shellcheck > /dev/null || {
  if [ "$(id -u)" -eq 0 ] && command -v apt-get > /dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck > /dev/null
  else
    echo "shellcheck is missing: sudo apt-get install shellcheck" >&2; exit 1
  fi
}
mapfile -t files < <(
  find scripts recipes egs -type f \( -path '*/corpus/*' -o -path '*/data/*' -o -path '*/exp/*' \) -prune -o -type f -print |
    while read -r f; do
      case $f in
        *.sh) echo "$f" ;;
        *) head -n 1 "$f" | grep -qE '^#!.*(bash|/sh)( |$)' && echo "$f" ;;
      esac
    done | sort)
echo "== shellcheck $(shellcheck --version | sed -n 's/^version: //p') -x on ${#files[@]} scripts under scripts/, recipes/, egs/"
printf '   %s\n' "${files[@]}"
shellcheck -x "${files[@]}"
echo "== shellcheck: clean"
