# shellcheck shell=bash
# parse_options.sh: turn "--foo-bar VALUE" arguments into the shell variable foo_bar=VALUE.
#
# Sourced, never run, after the caller has set every option's default (Kaldi's utils/parse_options.sh
# contract):
#     nj=4; cmd=run.pl; compress=true
#     . parse_options.sh
#     # "$@" now holds only the positional arguments
# Rules:
#   --foo-bar VALUE and --foo-bar=VALUE both set foo_bar; an option whose variable the caller did not
#       define is an error (exit 1), so typos never pass silently.
#   A variable whose default is true/false only accepts true or false.
#   --config FILE sources FILE first (lines like "nj=8"); options on the command line win over it.
#   --help / -h prints $help_message (if the caller set one) and exits 0.
#   Parsing stops at the first argument that does not start with "--", or after "--".
#   An empty --cmd is rejected (an unset $train_cmd is a common scripting mistake).

# Config files first, so that the command line overrides them.
_po_args=("$@")
for ((_po_i = 0; _po_i < ${#_po_args[@]}; _po_i++)); do
  case ${_po_args[_po_i]} in
    --config) _po_cfg=${_po_args[_po_i + 1]:-} ;;
    --config=*) _po_cfg=${_po_args[_po_i]#--config=} ;;
    --) break ;;
    *) continue ;;
  esac
  if [ -z "$_po_cfg" ] || [ ! -r "$_po_cfg" ]; then
    echo "$0: cannot read config file '$_po_cfg' given to --config" >&2; exit 1
  fi
  # shellcheck disable=SC1090
  . "$_po_cfg"
done
unset _po_args _po_i _po_cfg

while [ $# -gt 0 ]; do
  case $1 in
    --help|-h)
      if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message" >&2; else echo "$0: no help available" >&2; fi
      exit 0 ;;
    --) shift; break ;;
    --*=*) _po_name=${1%%=*}; _po_value=${1#*=}; _po_n=1 ;;
    --?*)
      if [ $# -lt 2 ]; then echo "$0: option $1 needs a value" >&2; exit 1; fi
      _po_name=$1; _po_value=$2; _po_n=2 ;;
    *) break ;;
  esac
  _po_name=${_po_name#--}; _po_name=${_po_name//-/_}
  if [ "$_po_name" = config ]; then shift "$_po_n"; continue; fi  # already sourced above
  if ! [[ $_po_name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || [ -z "${!_po_name+set}" ]; then
    echo "$0: invalid option --${_po_name//_/-} (see $0 --help)" >&2; exit 1
  fi
  case ${!_po_name} in
    true|false)
      case $_po_value in
        true|false) ;;
        *) echo "$0: option --${_po_name//_/-} expects true or false, got '$_po_value'" >&2; exit 1 ;;
      esac ;;
  esac
  printf -v "$_po_name" '%s' "$_po_value"
  shift "$_po_n"
done
unset _po_name _po_value _po_n

if [ -n "${cmd+set}" ] && [ -z "$cmd" ]; then
  echo "$0: empty argument to --cmd (is train_cmd set? source ./cmd.sh first)" >&2; exit 1
fi
true
