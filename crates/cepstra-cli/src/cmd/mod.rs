//! One module per subcommand: options (clap) and a `run` that calls the libraries.

pub mod acc_classes;
pub mod add_deltas;
pub mod apply_cmvn;
pub mod classify;
pub mod compare_feats;
pub mod compute_accuracy;
pub mod compute_cmvn_stats;
pub mod compute_fbank_feats;
pub mod compute_mfcc_feats;
pub mod copy_feats;
pub mod est_classes;
pub mod feat_to_dim;
pub mod feat_to_len;
pub mod fix_data_dir;
pub mod gmm_acc_stats;
pub mod gmm_copy;
pub mod gmm_est;
pub mod gmm_get_frame_likes;
pub mod gmm_info;
pub mod gmm_init;
pub mod gmm_sum_accs;
pub mod gmm_train;
pub mod init_classes;
pub mod kmeans;
pub mod train_classes;
pub mod validate_data_dir;
