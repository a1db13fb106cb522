//! Records the commit the binary is built from (`git rev-parse --short=12 HEAD`, or
//! `MESOS_OPERATOR_COMMIT` when set, e.g. by a packager building from a tarball), for
//! `mesos_operator_build_info`. Without git and without the variable it is `unknown`.

use std::path::Path;
use std::process::Command;

/// `git <args>`'s output, trimmed; None when git is missing or fails.
fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=MESOS_OPERATOR_COMMIT");
    if let Some(c) = std::env::var("MESOS_OPERATOR_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
    {
        println!("cargo:rustc-env=MESOS_OPERATOR_COMMIT={c}");
        return;
    }
    // A new commit moves HEAD or the branch it points to: build again then, and only then
    // (a path that does not exist would make cargo run this on every build).
    let mut watch = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(git(&["rev-parse", "--git-path", &branch]));
    }
    for p in watch.into_iter().flatten() {
        if Path::new(&p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=MESOS_OPERATOR_COMMIT={commit}");
}
