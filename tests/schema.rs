//! The committed files generated from the code stay true to it: the JSON Schema, the
//! examples, the shell completions and the man pages.

mod common;

use common::repo_path;

#[test]
fn committed_schema_matches_the_types() {
    let generated = mesos_operator_core::spec::json_schema();
    let committed =
        std::fs::read_to_string(repo_path("crds/mesoscluster.schema.json")).unwrap_or_default();
    assert!(
        generated == committed,
        "crds/mesoscluster.schema.json is stale: run `cargo run -q -- schema > crds/mesoscluster.schema.json`"
    );
}

#[test]
fn every_example_validates() {
    let dir = repo_path("manifests/examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-operator"))
            .arg("validate")
            .arg("-f")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        n += 1;
    }
    assert!(n >= 2, "examples missing");
}

/// Each committed file under `dir` against what the code generates now, by name: a file
/// that differs, one missing and one left over (a command that is gone) all fail.
fn assert_fresh(dir: &str, generated: Vec<(String, Vec<u8>)>) {
    let stale = "run `make cli-files` and commit the result";
    let mut committed: Vec<String> = std::fs::read_dir(repo_path(dir))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    committed.sort();
    let mut names: Vec<String> = generated.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    assert_eq!(
        committed, names,
        "{dir} does not hold the files the code generates: {stale}"
    );
    for (name, text) in generated {
        let on_disk = std::fs::read(repo_path(&format!("{dir}/{name}"))).unwrap_or_default();
        assert!(on_disk == text, "{dir}/{name} is stale: {stale}");
    }
}

#[test]
fn committed_completions_match_the_command_line() {
    use mesos_operator::cli::reference::{completion, completion_file, Shell};
    let generated = [Shell::Bash, Shell::Zsh, Shell::Fish]
        .map(|s| (completion_file(s), completion(s)))
        .to_vec();
    assert_fresh("ops/completions", generated);
}

#[test]
fn committed_man_pages_match_the_command_line() {
    let pages = mesos_operator::cli::reference::man_pages().expect("render the man pages");
    assert!(
        pages.iter().any(|(n, _)| n == "mesos-operator-run.1"),
        "one page per command"
    );
    assert_fresh("ops/man", pages);
}
