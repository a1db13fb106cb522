//! Hostile documents through the CLI (issue 13), no etcd needed: `validate -f` refuses each
//! with exit 2 and its field path, fast and in bounded memory.

use std::process::Command;
use std::time::{Duration, Instant};

fn validate_under_1_gib(file: &std::path::Path) -> (i32, String, Duration) {
    let t = Instant::now();
    // An allocation past the limit aborts the process (exit 134), which fails the test.
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1048576; exec \"$0\" validate -f \"$1\"")
        .arg(env!("CARGO_BIN_EXE_mesos-operator"))
        .arg(file)
        .output()
        .expect("run the CLI");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        t.elapsed(),
    )
}

fn seed() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/manifests/examples/cluster7.yaml"
    ))
    .expect("seed example")
}

#[test]
fn an_alias_bomb_fails_fast_in_bounded_memory() {
    // A 1 MiB string aliased 100,000 times: a 1.4 MB file, 100 GB expanded.
    let big = "x".repeat(1 << 20);
    let text = seed()
        .replace(
            "env: {MESOS_LOGGING_LEVEL: INFO}",
            &format!("env: {{MESOS_LOGGING_LEVEL: &b {big}}}"),
        )
        .replace(
            "containerizers: [docker, mesos]",
            &format!("containerizers: [{}]", vec!["*b"; 100_000].join(", ")),
        );
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bomb.yaml");
    std::fs::write(&f, &text).unwrap();
    let (code, err, took) = validate_under_1_gib(&f);
    eprintln!("alias bomb: exit {code} after {took:?}");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("spec.agents.containerizers["), "{err}");
    assert!(err.contains("expands to more than 8 MiB"), "{err}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[test]
fn huge_and_binary_files_are_refused_without_being_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    // 64 MiB, of which at most 4 MiB + 1 byte is read.
    let f = dir.path().join("huge.yaml");
    let file = std::fs::File::create(&f).unwrap();
    file.set_len(64 << 20).unwrap();
    let (code, err, _) = validate_under_1_gib(&f);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("larger than 4 MiB"), "{err}");
    // Invalid UTF-8, with its place.
    let f = dir.path().join("latin1.yaml");
    let mut bytes = seed().into_bytes();
    bytes.extend(b"# caf\xe9\n");
    std::fs::write(&f, &bytes).unwrap();
    let (code, err, _) = validate_under_1_gib(&f);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not UTF-8") && err.contains("line "), "{err}");
}
