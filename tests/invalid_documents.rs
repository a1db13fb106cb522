//! Bad input gets a clear error and nothing is written.
//!
//! Every document in `tests/fixtures/invalid/` goes through `apply` against a real etcd;
//! each must exit 2, name its field path in the message, and leave etcd's revision where it
//! was. This binary holds one test so that no other writer moves the revision meanwhile.

mod common;

use common::{cli, etcd, parts, repo_path, store, unique_prefix};

fn expectation(path: &std::path::Path, text: &str) -> String {
    if let Some(line) = text.lines().find_map(|l| l.strip_prefix("# expect: ")) {
        return line.trim().to_string();
    }
    let side = format!("{}.expect", path.display());
    std::fs::read_to_string(&side)
        .unwrap_or_else(|_| panic!("{} has no `# expect:` line and no {side}", path.display()))
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invalid_document_is_refused_with_its_field_path_and_nothing_written() {
    let _ = etcd();
    let p = unique_prefix("invalid");
    let s = store(&p).await;
    // Store a valid cluster first, so that refused updates of an existing cluster are
    // exercised too (fixtures are renamed onto it where their name is valid).
    let seed = common::seed_yaml("cluster7");
    let (code, _, err) = parts(&common::cli_with_stdin(&p, &["apply", "-f", "-"], &seed));
    assert_eq!(code, 0, "{err}");

    let dir = repo_path("tests/fixtures/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.to_string_lossy().ends_with(".expect"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "only {} invalid fixtures", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let want = expectation(f, &text);
        let before = s.revision().await.unwrap();
        let (code, out, err) = parts(&cli(&p, &["apply", "-f", f.to_str().unwrap()]));
        let after = s.revision().await.unwrap();
        let name = f.file_name().unwrap().to_string_lossy();
        if code != 2 {
            failures.push(format!(
                "{name}: exit {code}, want 2 (stdout: {out}, stderr: {err})"
            ));
        }
        if !err.contains(&format!("{want}:")) {
            failures.push(format!("{name}: message does not name `{want}`: {err}"));
        }
        if before != after {
            failures.push(format!("{name}: etcd revision moved {before} -> {after}"));
        }
        // `validate` agrees without etcd.
        let (vcode, _, _) = parts(&cli(&p, &["validate", "-f", f.to_str().unwrap()]));
        if vcode != 2 {
            failures.push(format!("{name}: validate exit {vcode}, want 2"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));

    // Growing from 1 master without acceptRegistryReset is refused relative to the stored
    // spec, and nothing is written. (The seed under another name binds cluster7's ports on
    // cluster7's hosts: cluster7 goes first.)
    assert_eq!(parts(&cli(&p, &["delete", "cluster7"])).0, 0);
    let one = common::seed_yaml("single").replace("count: 3", "count: 1");
    assert_eq!(
        parts(&common::cli_with_stdin(&p, &["apply", "-f", "-"], &one)).0,
        0
    );
    let before = s.revision().await.unwrap();
    let three = common::seed_yaml("single");
    let (code, _, err) = parts(&common::cli_with_stdin(&p, &["apply", "-f", "-"], &three));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("spec.masters.acceptRegistryReset:"), "{err}");
    assert_eq!(before, s.revision().await.unwrap());
}
