# scripts/tests/checks.sh: the check harness the shell-script tests source. The sourcing script
# sets passed=0 failed=0 and prints "$passed passed, $failed failed" at exit.
# shellcheck shell=bash disable=SC2034

check() { # check DESCRIPTION COMMAND...: pass if COMMAND succeeds
  local what=$1
  shift
  if "$@"; then
    passed=$((passed + 1)); echo "ok   $what"
  else
    failed=$((failed + 1)); echo "FAIL $what"
  fi
}
has() { grep -qE -- "$2" "$1"; }     # has FILE REGEX
lacks() { ! grep -qE -- "$2" "$1"; } # lacks FILE REGEX
