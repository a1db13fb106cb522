//! The committed JSON Schema and examples stay true to the code.

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
