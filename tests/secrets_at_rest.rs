//! Secrets encrypted at rest (`--secrets-key-file`), against a real etcd: what etcd holds,
//! what the operator reads back, rotation with `secret reencrypt`, and bad key files.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use common::{cli, cli_with_stdin, parts, store, unique_prefix};
use mesos_operator::secrets::{Keyring, SecretSource};

const VALUE: &str = "super:Sekr3t-at-rest-do-not-store-in-clear";

/// Writes a private key file holding `keys` (name, fill byte), in that order.
fn key_file(dir: &Path, file: &str, keys: &[(&str, u8)]) -> PathBuf {
    let path = dir.join(file);
    let mut text = String::from("# test keys\n\n");
    for (name, fill) in keys {
        let b64 = base64::engine::general_purpose::STANDARD.encode([*fill; 32]);
        text.push_str(&format!("{name}:{b64}\n"));
    }
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// What etcd holds at `<prefix>secrets/<name>`, read with a plain etcd client.
async fn raw(prefix: &str, name: &str) -> Option<Vec<u8>> {
    let mut c = store(prefix).await.client();
    let r = c
        .get(format!("{prefix}secrets/{name}"), None)
        .await
        .unwrap();
    r.kvs().first().map(|kv| kv.value().to_vec())
}

fn envelope_key(stored: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(stored).expect("an envelope is JSON");
    assert_eq!(v["mesosOperatorSecret"], 1, "{v}");
    assert_eq!(v["alg"], "xchacha20poly1305", "{v}");
    v["key"].as_str().unwrap().to_string()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn read(prefix: &str, keys: Option<&Path>, name: &str) -> Result<Vec<u8>, String> {
    let keys = keys.map(|p| Arc::new(Keyring::load(p).unwrap()));
    SecretSource::store(store(prefix).await, keys)
        .get(name)
        .await
        .map(|s| s.expose().to_vec())
        .map_err(|e| e.to_string())
}

fn set(prefix: &str, keys: Option<&Path>, name: &str, value: &str) -> (i32, String, String) {
    let mut args = vec!["secret", "set", name, "--from-file", "-"];
    let k;
    if let Some(p) = keys {
        k = p.to_string_lossy().into_owned();
        args.extend(["--secrets-key-file", &k]);
    }
    parts(&cli_with_stdin(prefix, &args, value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_with_a_key_file_stores_an_envelope_that_only_the_key_file_opens() {
    let p = unique_prefix("at-rest");
    let dir = tempfile::tempdir().unwrap();
    let keys = key_file(dir.path(), "keys", &[("k1", 1)]);

    let (code, out, err) = set(&p, Some(&keys), "zk-super", VALUE);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("encrypted with key k1"), "{out}");
    assert!(!err.contains("warning"), "{err}");

    // etcd holds an envelope naming k1, and not the secret's bytes.
    let stored = raw(&p, "zk-super").await.expect("stored");
    assert!(!contains(&stored, VALUE) && !contains(&stored, "Sekr3t"));
    assert_eq!(envelope_key(&stored), "k1");

    // The operator's read returns the original bytes.
    assert_eq!(
        read(&p, Some(&keys), "zk-super").await.unwrap(),
        VALUE.as_bytes()
    );

    // Without the key file the read fails, naming the secret, the key and the option.
    let e = read(&p, None, "zk-super").await.unwrap_err();
    assert!(
        e.contains("zk-super") && e.contains("key k1") && e.contains("--secrets-key-file"),
        "{e}"
    );
    // With a key file that lacks k1: the key's name and the fix.
    let other = key_file(dir.path(), "other", &[("k9", 9)]);
    let e = read(&p, Some(&other), "zk-super").await.unwrap_err();
    assert!(e.contains("key k1") && e.contains("add that key"), "{e}");

    // Copied under another name, the value does not decrypt.
    let mut c = store(&p).await.client();
    c.put(format!("{p}secrets/ca"), stored.clone(), None)
        .await
        .unwrap();
    let e = read(&p, Some(&keys), "ca").await.unwrap_err();
    assert!(
        e.contains("secret ca") && e.contains("moved from another key name"),
        "{e}"
    );

    // `secret list` needs no key: how each one is kept, and the secret's own size.
    let (code, out, err) = parts(&cli(&p, &["secret", "list", "-o", "json"]));
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("Sekr3t"), "{out}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let zk = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "zk-super")
        .unwrap();
    assert_eq!(zk["name"], "zk-super");
    assert_eq!(zk["storage"], "encrypted");
    assert_eq!(zk["key"], "k1");
    assert_eq!(zk["size"], VALUE.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reencrypt_brings_clear_and_old_key_values_to_the_first_key() {
    let p = unique_prefix("reencrypt");
    let dir = tempfile::tempdir().unwrap();
    let old = key_file(dir.path(), "old", &[("k1", 1)]);

    // Written without a key file: clear, with a warning that names the option.
    let (code, _, err) = set(&p, None, "legacy", "legacy-value-7");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning") && err.contains("--secrets-key-file"),
        "{err}"
    );
    assert_eq!(raw(&p, "legacy").await.unwrap(), b"legacy-value-7");
    assert_eq!(set(&p, Some(&old), "old", VALUE).0, 0);
    let (_, out, _) = parts(&cli(&p, &["secret", "list"]));
    assert!(
        out.contains("STORED") && out.contains("clear") && out.contains("encrypted (key k1)"),
        "{out}"
    );

    // Refused without a key file: exit 2, nothing rewritten.
    let (code, _, err) = parts(&cli(&p, &["secret", "reencrypt"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--secrets-key-file"), "{err}");
    assert_eq!(raw(&p, "legacy").await.unwrap(), b"legacy-value-7");

    // Rotation: the new key first, the old one still listed.
    let rotated = key_file(dir.path(), "rotated", &[("k2", 2), ("k1", 1)]);
    let rotated_arg = rotated.to_string_lossy().into_owned();
    let args = ["secret", "reencrypt", "--secrets-key-file", &rotated_arg];
    let (code, out, err) = parts(&cli(&p, &args));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("legacy (clear -> key k2)"), "{out}");
    assert!(out.contains("old (key k1 -> key k2)"), "{out}");
    assert!(out.contains("2 rewritten, 0 already current"), "{out}");
    for name in ["legacy", "old"] {
        let stored = raw(&p, name).await.unwrap();
        assert_eq!(envelope_key(&stored), "k2", "{name}");
    }
    assert!(!contains(
        &raw(&p, "legacy").await.unwrap(),
        "legacy-value-7"
    ));

    // Nothing left to do; then the old key can go and both still read.
    let (code, out, err) = parts(&cli(&p, &args));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 rewritten, 2 already current"), "{out}");
    let new_only = key_file(dir.path(), "new", &[("k2", 2)]);
    assert_eq!(
        read(&p, Some(&new_only), "legacy").await.unwrap(),
        b"legacy-value-7"
    );
    assert_eq!(
        read(&p, Some(&new_only), "old").await.unwrap(),
        VALUE.as_bytes()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewrite_never_overwrites_a_value_set_since_it_was_read() {
    let p = unique_prefix("reencrypt-cas");
    let s = store(&p).await;
    s.secret_set("ca", b"first".to_vec()).await.unwrap();
    let seen = s.secret_entries().await.unwrap().remove(0);
    s.secret_set("ca", b"second".to_vec()).await.unwrap();
    assert!(!s
        .secret_put_if("ca", b"stale".to_vec(), seen.mod_revision)
        .await
        .unwrap());
    assert_eq!(raw(&p, "ca").await.unwrap(), b"second");
    let now = s.secret_entries().await.unwrap().remove(0);
    assert!(s
        .secret_put_if("ca", b"third".to_vec(), now.mod_revision)
        .await
        .unwrap());
    assert_eq!(raw(&p, "ca").await.unwrap(), b"third");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_file_is_refused_by_line_and_nothing_is_written() {
    let p = unique_prefix("bad-keys");
    let dir = tempfile::tempdir().unwrap();
    let short = base64::engine::general_purpose::STANDARD.encode([5u8; 16]);
    let bad = dir.path().join("bad");
    std::fs::write(&bad, format!("# keys\nk1:{short}\n")).unwrap();
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, _, err) = set(&p, Some(&bad), "zk-super", VALUE);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("{} line 2", bad.display())) && err.contains("NAME:BASE64"),
        "{err}"
    );
    assert!(!err.contains(&short), "{err}");
    assert_eq!(raw(&p, "zk-super").await, None);

    // Readable by the group: refused as ssh refuses a key, with the fix.
    let open = key_file(dir.path(), "open", &[("k1", 1)]);
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, _, err) = set(&p, Some(&open), "zk-super", VALUE);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    assert_eq!(raw(&p, "zk-super").await, None);

    // The environment variable is the same option.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mesos-operator"))
        .env("MESOS_OPERATOR_ETCD", &common::etcd().endpoint)
        .env("MESOS_OPERATOR_ETCD_PREFIX", &p)
        .env("MESOS_OPERATOR_SECRETS_KEY_FILE", &open)
        .args(["secret", "reencrypt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 600"));
}
