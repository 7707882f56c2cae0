# shellcheck shell=bash
# cmd.sh: how parallel jobs run.  run.pl runs them on this machine; slurm.pl submits them to Slurm (see
# scripts/slurm.pl and conf/slurm.conf).  Override per run with "run.sh --cmd slurm.pl", or for every run
# with the environment variable train_cmd, e.g.  export train_cmd="slurm.pl --mem 2G".
export train_cmd=${train_cmd:-run.pl}
