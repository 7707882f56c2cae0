#!/usr/bin/env bash
# scripts/ci/recipes.sh: CI stage "recipes end to end" (issue 4, acceptance 1, 2, 4, 5): runs
# scripts/tests/test_recipes_e2e.sh with the release binary (built by egs/*/path.sh if stale): egs/synth_digits
# (its corpus is made first; espeak-ng, flite and sox are installed with apt-get when run as root) and, when
# ../shared/data/ti-digits exists beside the repository, egs/tidigits.  Run from anywhere; exits non-zero on
# any failed check.  Takes 1-2 minutes once the corpus exists (about 1 more to make it).
set -euo pipefail
cd "$(dirname "$0")/../.."
echo "== recipes: synth_digits (accuracy >= 0.85, --nj 1 == --nj 2 model sets, report, --stage resume)"
echo "== recipes: tidigits when ../shared/data/ti-digits exists (5 seeds >= 0.97 from wavs and provided feats," \
  "--train-set all, raw tree, --nj 1 == --nj 2, --stage resume)"
exec scripts/tests/test_recipes_e2e.sh "$@"
