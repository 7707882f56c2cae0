//! `cepstra`: Kaldi-style pipe-stage subcommands over the cepstra libraries.
//!
//! Each subcommand lives in `cmd/<name>.rs`, parses its options and calls one library
//! function. stdout carries data only; the echoed command line, logs and progress go to stderr.
//! Exit status: 0 on success (a closed output pipe included), 1 on failure, 2 on a usage error.

mod cmd;
mod common;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// cepstra: Kaldi-compatible speech features, Gaussian mixture models and per-class
/// maximum-likelihood recognition.
#[derive(Parser, Debug)]
#[command(
    name = "cepstra",
    version,
    args_override_self = true,
    propagate_version = true
)]
struct Cli {
    /// Kaldi's verbose level: 1 or more also prints debug (VLOG) lines
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    verbose: i32,
    /// Kaldi's --print-args: echo the command line to stderr (--print-args=false: do not)
    #[arg(long = "print-args", global = true, default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    print_args: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    ComputeMfccFeats(cmd::compute_mfcc_feats::Args),
    ComputeFbankFeats(cmd::compute_fbank_feats::Args),
    ComputeCmvnStats(cmd::compute_cmvn_stats::Args),
    ApplyCmvn(cmd::apply_cmvn::Args),
    AddDeltas(cmd::add_deltas::Args),
    CopyFeats(cmd::copy_feats::Args),
    CompareFeats(cmd::compare_feats::Args),
    FeatToDim(cmd::feat_to_dim::Args),
    FeatToLen(cmd::feat_to_len::Args),
    Kmeans(cmd::kmeans::Args),
    GmmInit(cmd::gmm_init::Args),
    GmmGlobalInitFromFeats(cmd::gmm_global_init_from_feats::Args),
    #[command(visible_aliases = ["gmm-global-acc-stats", "fgmm-global-acc-stats"])]
    GmmAccStats(cmd::gmm_acc_stats::Args),
    #[command(visible_aliases = ["gmm-global-sum-accs", "fgmm-global-sum-accs"])]
    GmmSumAccs(cmd::gmm_sum_accs::Args),
    #[command(visible_aliases = ["gmm-global-est", "fgmm-global-est"])]
    GmmEst(cmd::gmm_est::Args),
    GmmTrain(cmd::gmm_train::Args),
    #[command(visible_aliases = ["gmm-global-get-frame-likes", "fgmm-global-get-frame-likes"])]
    GmmGetFrameLikes(cmd::gmm_get_frame_likes::Args),
    GmmInfo(cmd::gmm_info::Args),
    #[command(visible_aliases = ["gmm-global-copy", "fgmm-global-copy", "gmm-global-to-fgmm", "fgmm-global-to-gmm"])]
    GmmCopy(cmd::gmm_copy::Args),
    ValidateDataDir(cmd::validate_data_dir::Args),
    FixDataDir(cmd::fix_data_dir::Args),
    TrainClasses(cmd::train_classes::Args),
    InitClasses(cmd::init_classes::Args),
    AccClasses(cmd::acc_classes::Args),
    EstClasses(cmd::est_classes::Args),
    InitHmms(cmd::init_hmms::Args),
    AccHmms(cmd::acc_hmms::Args),
    EstHmms(cmd::est_hmms::Args),
    TrainHmms(cmd::train_hmms::Args),
    AlignHmms(cmd::align_hmms::Args),
    HmmInfo(cmd::hmm_info::Args),
    HmmCopy(cmd::hmm_copy::Args),
    Classify(cmd::classify::Args),
    Recognize(cmd::recognize::Args),
    ComputeAccuracy(cmd::compute_accuracy::Args),
}

fn dispatch(command: Command, inv: &common::gmm_io::Invocation) -> anyhow::Result<()> {
    match command {
        Command::ComputeMfccFeats(a) => cmd::compute_mfcc_feats::run(a),
        Command::ComputeFbankFeats(a) => cmd::compute_fbank_feats::run(a),
        Command::ComputeCmvnStats(a) => cmd::compute_cmvn_stats::run(a),
        Command::ApplyCmvn(a) => cmd::apply_cmvn::run(a),
        Command::AddDeltas(a) => cmd::add_deltas::run(a),
        Command::CopyFeats(a) => cmd::copy_feats::run(a),
        Command::CompareFeats(a) => cmd::compare_feats::run(a),
        Command::FeatToDim(a) => cmd::feat_to_dim::run(a),
        Command::FeatToLen(a) => cmd::feat_to_len::run(a),
        Command::Kmeans(a) => cmd::kmeans::run(a),
        Command::GmmInit(a) => cmd::gmm_init::run(a),
        Command::GmmGlobalInitFromFeats(a) => cmd::gmm_global_init_from_feats::run(a, inv),
        Command::GmmAccStats(a) => cmd::gmm_acc_stats::run(a, inv),
        Command::GmmSumAccs(a) => cmd::gmm_sum_accs::run(a, inv),
        Command::GmmEst(a) => cmd::gmm_est::run(a, inv),
        Command::GmmTrain(a) => cmd::gmm_train::run(a),
        Command::GmmGetFrameLikes(a) => cmd::gmm_get_frame_likes::run(a),
        Command::GmmInfo(a) => cmd::gmm_info::run(a),
        Command::GmmCopy(a) => cmd::gmm_copy::run(a, inv),
        Command::ValidateDataDir(a) => cmd::validate_data_dir::run(a),
        Command::FixDataDir(a) => cmd::fix_data_dir::run(a),
        Command::TrainClasses(a) => cmd::train_classes::run(a),
        Command::InitClasses(a) => cmd::init_classes::run(a),
        Command::AccClasses(a) => cmd::acc_classes::run(a),
        Command::EstClasses(a) => cmd::est_classes::run(a),
        Command::InitHmms(a) => cmd::init_hmms::run(a),
        Command::AccHmms(a) => cmd::acc_hmms::run(a),
        Command::EstHmms(a) => cmd::est_hmms::run(a),
        Command::TrainHmms(a) => cmd::train_hmms::run(a),
        Command::AlignHmms(a) => cmd::align_hmms::run(a),
        Command::HmmInfo(a) => cmd::hmm_info::run(a),
        Command::HmmCopy(a) => cmd::hmm_copy::run(a),
        Command::Classify(a) => cmd::classify::run(a),
        Command::Recognize(a) => cmd::recognize::run(a),
        Command::ComputeAccuracy(a) => cmd::compute_accuracy::run(a),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<cepstra_io::Error>().is_some_and(|ce| {
                matches!(ce, cepstra_io::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
            })
    })
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    let root = Cli::command();
    let pre = match common::args::preprocess(argv, &root) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ERROR (cepstra) {e:#}");
            return ExitCode::from(2);
        }
    };
    let argv = pre.argv.clone();
    let matches = match root.try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            if let Some(note) = pre.config_note(&e.to_string()) {
                eprintln!("note: {note}");
            }
            return ExitCode::from(code);
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(2);
        }
    };
    let program = argv.get(1).cloned().unwrap_or_default();
    common::Logger::install(&program, cli.verbose > 0);
    common::signals::install();
    if cli.print_args {
        eprintln!("{}", argv.join(" "));
    }
    let sub_matches = matches.subcommand().map_or(&matches, |(_, m)| m);
    // The name the subcommand was called by (global options may come before it).
    let called = {
        let root = Cli::command();
        argv.iter()
            .skip(1)
            .find(|a| root.find_subcommand(a.as_str()).is_some())
            .cloned()
            .unwrap_or_default()
    };
    let inv = common::gmm_io::Invocation::new(&called, sub_matches);
    if let Some(sub) = Cli::command().find_subcommand(&called) {
        if let Err(e) = common::check_output_args(sub, sub_matches) {
            eprintln!("ERROR (cepstra {program}) {}", common::render_error(&e));
            return ExitCode::FAILURE;
        }
    }
    match dispatch(cli.command, &inv) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let message = common::render_error(&e);
            match pre.config_note(&message) {
                Some(note) => eprintln!("ERROR (cepstra {program}) {message} ({note})"),
                None => eprintln!("ERROR (cepstra {program}) {message}"),
            }
            ExitCode::FAILURE
        }
    }
}
