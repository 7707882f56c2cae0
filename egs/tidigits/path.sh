# shellcheck shell=bash
# path.sh: the environment of this recipe (C locale, cepstra built and on PATH, scripts/ and recipes/ on PATH).
# shellcheck source=SCRIPTDIR/../../scripts/path.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/path.sh"
