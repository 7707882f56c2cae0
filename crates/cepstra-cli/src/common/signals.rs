//! SIGTERM, SIGINT and SIGHUP: remove this process's uncommitted temporary files, then die of
//! the signal as the default action would (so `run.pl`, `slurm.pl` and shells see the signal).
//!
//! Uses `signal-hook`'s iterator: the handler itself only records the signal; the clean-up runs
//! on an ordinary thread, where removing files is safe. Outputs left by SIGKILL, which cannot
//! be caught, are removed by the next run writing the same destination
//! (`cepstra_io::filename::Output`).

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// Installs the handler; failure to install is logged and otherwise ignored.
pub fn install() {
    let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            log::warn!("cannot install signal handlers: {e}");
            return;
        }
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            cepstra_io::filename::remove_temp_files();
            // Restores the default action and raises the signal again: the process ends by it.
            let _ = signal_hook::low_level::emulate_default_handler(sig);
            std::process::exit(128 + sig);
        }
    });
}
