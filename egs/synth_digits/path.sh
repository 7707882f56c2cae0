# shellcheck shell=bash
# path.sh: the environment of this recipe (C locale, cepstra built and on PATH, scripts/ and recipes/ on PATH).
# shellcheck source=SCRIPTDIR/../../scripts/path.sh
if [[ ${BASH_SOURCE[0]} == */* ]]; then . "${BASH_SOURCE[0]%/*}/../../scripts/path.sh"; else . ../../scripts/path.sh; fi
