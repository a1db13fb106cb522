//! Build information for `mesos-operator version`: the commit and the build time.
//!
//! Why a build script: the commit is known only where the source is, at build time. From a
//! checkout, `git rev-parse` gives it; from a tarball (no `.git`), whoever builds may set
//! `MESOS_OPERATOR_COMMIT`, and otherwise it is `unknown` (never a build failure). The build
//! time is `SOURCE_DATE_EPOCH` when set (reproducible builds), the time of this run
//! otherwise; it is handed over as seconds and formatted at run time (no date code here).
//!
//! The script reruns only when the commit can have changed (git's HEAD and the branch it
//! points at) or one of the two variables does, so an ordinary edit does not make it run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

/// The files whose change means another commit is checked out: HEAD (in a worktree, its
/// own), the branch it points at, and packed-refs.
fn watched(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let path = |p: String| {
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            dir.join(p)
        }
    };
    if let Some(head) = git(dir, &["rev-parse", "--git-path", "HEAD"]) {
        files.push(path(head));
    }
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        if let Some(r) = git(dir, &["rev-parse", "--git-path", &branch]) {
            files.push(path(r));
        }
    }
    if let Some(packed) = git(dir, &["rev-parse", "--git-path", "packed-refs"]) {
        files.push(path(packed));
    }
    // A path that does not exist would make cargo rerun the script on every build.
    files.retain(|f| f.exists());
    files
}

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=MESOS_OPERATOR_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let commit = std::env::var("MESOS_OPERATOR_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&dir, &["rev-parse", "--short=12", "HEAD"]));
    match commit {
        Some(c) => {
            for f in watched(&dir) {
                println!("cargo:rerun-if-changed={}", f.display());
            }
            println!("cargo:rustc-env=MESOS_OPERATOR_COMMIT={}", c.trim());
        }
        None => println!("cargo:rustc-env=MESOS_OPERATOR_COMMIT=unknown"),
    }
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    println!("cargo:rustc-env=MESOS_OPERATOR_BUILD_EPOCH={epoch}");
}
