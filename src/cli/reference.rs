//! What is generated from the clap definitions: shell completion scripts (clap_complete)
//! and man pages (clap_mangen), so that neither can drift from the commands and flags.
//!
//! `completions SHELL` prints a script and `man-pages DIR` writes the pages; the same files
//! are checked in under `ops/completions/` and `ops/man/` for packagers, rewritten by
//! `make cli-files`, and tests/schema.rs fails when they are stale.

use std::path::Path;

use clap::CommandFactory;
pub use clap_complete::Shell;

use super::{Cli, CliError, CliResult};

/// The name the scripts complete and the pages describe.
const BIN: &str = "mesos-operator";

/// The completion script for `shell`.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, BIN, &mut out);
    out
}

/// The file a packager installs `shell`'s script as (the name each shell looks for).
pub fn completion_file(shell: Shell) -> String {
    match shell {
        Shell::Zsh => format!("_{BIN}"),
        Shell::Fish => format!("{BIN}.fish"),
        Shell::PowerShell => format!("_{BIN}.ps1"),
        Shell::Elvish => format!("{BIN}.elv"),
        _ => format!("{BIN}.bash"),
    }
}

/// Every man page: one for the command and one per subcommand (`mesos-operator-apply.1`,
/// `mesos-operator-secret-set.1`, ...), as (file name, roff text), in a stable order.
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            walk(sub, out)?;
        }
        let man = clap_mangen::Man::new(cmd);
        let mut text = Vec::new();
        man.render(&mut text)?;
        out.push((man.get_filename(), text));
        Ok(())
    }
    // As clap_mangen::generate_to does: built (subcommands get their full names), and no
    // `help` subcommand of its own.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(cmd, &mut out)?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

pub(super) fn print_completion(shell: Shell) -> CliResult {
    use std::io::Write;
    match std::io::stdout().write_all(&completion(shell)) {
        // A reader that has read enough (`| head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Failed(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}

pub(super) fn write_man_pages(dir: &Path) -> CliResult {
    let pages = man_pages().map_err(|e| CliError::Failed(format!("cannot render: {e}")))?;
    if !dir.is_dir() {
        return Err(CliError::Input(format!(
            "{} is not a directory; create it first",
            dir.display()
        )));
    }
    for (name, text) in pages {
        let path = dir.join(&name);
        std::fs::write(&path, text)
            .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}
