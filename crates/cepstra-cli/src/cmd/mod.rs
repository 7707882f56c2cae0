//! One module per subcommand: options (clap) and a `run` that calls the libraries.

pub mod add_deltas;
pub mod apply_cmvn;
pub mod compare_feats;
pub mod compute_cmvn_stats;
pub mod compute_fbank_feats;
pub mod compute_mfcc_feats;
pub mod copy_feats;
pub mod feat_to_dim;
pub mod feat_to_len;
pub mod fix_data_dir;
pub mod validate_data_dir;
