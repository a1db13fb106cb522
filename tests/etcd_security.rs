//! The control plane's etcd secured as a security team would run it, against real etcd
//! processes: TLS with client certificates required, authentication with the roles the
//! README gives and a short token TTL, a restart that voids every token, and a member that
//! freezes under an open watch.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::operator::{wait_until, Operator};
use common::parts;
use common::secure_etcd::{SecureEtcd, Security};
use mesos_operator::store::Store;

/// The seed's example with every address on loopback (tests talk only to loopback; the
/// Docker endpoints there are closed ports, and their TLS secrets are never stored, so no
/// connection to them is even tried).
fn document(name: &str, net: u8) -> String {
    common::seed_yaml(name).replace("10.20.30.", &format!("127.0.{net}."))
}

/// `mesos-operator` on `etcd` (with its TLS options) and extra environment (a user's
/// password).
fn cli(
    etcd: &SecureEtcd,
    prefix: &str,
    env: &[(&str, &str)],
    args: &[&str],
    stdin: &str,
) -> Output {
    let tls = etcd.tls_args();
    let all: Vec<&str> = tls
        .iter()
        .map(String::as_str)
        .chain(args.iter().copied())
        .collect();
    common::cli_env(&etcd.endpoint, prefix, env, &all, stdin)
}

fn as_person(etcd: &SecureEtcd, prefix: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    parts(&cli(
        etcd,
        prefix,
        &[
            ("MESOS_OPERATOR_ETCD_USER", "person"),
            ("MESOS_OPERATOR_ETCD_PASSWORD", "person-pw"),
        ],
        args,
        stdin,
    ))
}

/// The status document the operator wrote, if any.
fn status(
    etcd: &SecureEtcd,
    prefix: &str,
    env: &[(&str, &str)],
    name: &str,
) -> Option<serde_json::Value> {
    let (code, out, _) = parts(&cli(etcd, prefix, env, &["status", name, "-o", "json"], ""));
    (code == 0)
        .then(|| serde_json::from_str::<serde_json::Value>(&out).ok())
        .flatten()
        .filter(|s| s["observedGeneration"].as_i64().is_some())
}

#[tokio::test(flavor = "multi_thread")]
async fn over_tls_with_client_certificates_the_cli_and_the_operator_work_and_a_client_without_a_certificate_is_refused(
) {
    let etcd = SecureEtcd::start(Security {
        tls: true,
        token_ttl_secs: None,
    });
    let prefix = "/mo-tls/";
    let (code, out, err) = parts(&cli(
        &etcd,
        prefix,
        &[],
        &["apply", "-f", "-"],
        &document("tls1", 30),
    ));
    assert_eq!(code, 0, "apply over TLS: {err}");
    assert!(out.contains("tls1 created"), "{out}");

    // The CA alone is not enough: etcd asks for a client certificate.
    let ca_only = Command::new(env!("CARGO_BIN_EXE_mesos-operator"))
        .env("MESOS_OPERATOR_ETCD", &etcd.endpoint)
        .env("MESOS_OPERATOR_ETCD_PREFIX", prefix)
        .arg("--etcd-cacert")
        .arg(etcd.pki.join("ca.pem"))
        .args(["get", "tls1"])
        .output()
        .expect("run");
    let (code, _, err) = parts(&ca_only);
    assert_ne!(code, 0, "a client without a certificate was served");
    assert!(
        err.contains("cannot connect to etcd") || err.contains("etcd"),
        "{err}"
    );

    // The operator, over the same TLS, leads and writes the cluster's status.
    let tls: Vec<String> = etcd.tls_args();
    let args: Vec<&str> = tls.iter().map(String::as_str).collect();
    let op = Operator::start_with(&etcd.endpoint, prefix, &args, &[]);
    wait_until(
        "the operator leads over TLS",
        Duration::from_secs(30),
        || op.leads(),
    );
    wait_until("the status of tls1", Duration::from_secs(30), || {
        status(&etcd, prefix, &[], "tls1").is_some()
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn with_authentication_tokens_that_expire_and_an_etcd_restart_nothing_stops_and_people_cannot_read_secrets(
) {
    let mut etcd = SecureEtcd::start(Security {
        tls: false,
        token_ttl_secs: Some(2),
    });
    let prefix = "/mo-auth/";
    etcd.enable_auth(prefix);

    // One long-lived client across its token's expiry and across a restart of etcd that
    // voids every token: each call is still served.
    let store = Store::connect(&etcd.options(prefix, Some(("operator", "operator-pw"))))
        .await
        .expect("connect as operator");
    store.list().await.expect("a call with a fresh token");
    tokio::time::sleep(Duration::from_secs(5)).await;
    store
        .list()
        .await
        .expect("a call after the token's TTL: the token is refreshed");

    // The operator, as its own user, with its password in a file.
    let pw = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(pw.path(), "operator-pw").expect("write password");
    let pw_path = pw.path().display().to_string();
    let op = Operator::start_with(
        &etcd.endpoint,
        prefix,
        &["--etcd-user", "operator", "--etcd-password-file", &pw_path],
        &[],
    );
    wait_until("the operator leads", Duration::from_secs(30), || op.leads());
    let (code, _, err) = as_person(&etcd, prefix, &["apply", "-f", "-"], &document("auth1", 30));
    assert_eq!(code, 0, "a person applies: {err}");
    let person = [
        ("MESOS_OPERATOR_ETCD_USER", "person"),
        ("MESOS_OPERATOR_ETCD_PASSWORD", "person-pw"),
    ];
    wait_until("the status of auth1", Duration::from_secs(30), || {
        status(&etcd, prefix, &person, "auth1").is_some()
    });

    etcd.restart();
    store
        .list()
        .await
        .expect("a call after etcd restarted: a new token is taken");
    // The operator goes on: a document applied after the restart is reconciled.
    let (code, _, err) = as_person(&etcd, prefix, &["apply", "-f", "-"], &document("auth2", 31));
    assert_eq!(code, 0, "a person applies after the restart: {err}");
    wait_until(
        "the status of auth2, written after the restart",
        Duration::from_secs(60),
        || status(&etcd, prefix, &person, "auth2").is_some(),
    );
    wait_until(
        "the operator leads after the restart",
        Duration::from_secs(30),
        || op.leads(),
    );

    // People store secrets but cannot read them back; the operator reads them.
    let (code, _, err) = as_person(
        &etcd,
        prefix,
        &["secret", "set", "zk-super", "--from-file", "-"],
        "super:s3cret-zk",
    );
    assert_eq!(code, 0, "a person stores a secret: {err}");
    let (code, out, err) = as_person(&etcd, prefix, &["secret", "list"], "");
    assert_ne!(code, 0, "a person listed secrets: {out}");
    assert!(err.contains("permission denied"), "{err}");
    let read = store
        .secret_get("zk-super")
        .await
        .expect("the operator reads secrets");
    assert_eq!(read.as_deref(), Some(&b"super:s3cret-zk"[..]));

    let log = std::fs::read_to_string(&op.log).unwrap_or_default();
    assert!(
        !log.contains("operator-pw"),
        "the etcd password is in the log"
    );
    assert!(
        !log.contains("invalid auth token"),
        "the operator met an expired token it did not refresh:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watch_on_a_member_that_froze_fails_within_the_keepalive_instead_of_hanging() {
    let etcd = SecureEtcd::start(Security::default());
    let store = Store::connect(&etcd.options("/mo-keepalive/", None))
        .await
        .expect("connect");
    let mut c = store.client();
    let mut stream = c.watch("/mo-keepalive/k", None).await.expect("watch");
    etcd.signal("STOP");
    let frozen = Instant::now();
    // The watch's "created" answer may still be on its way; anything else is not.
    let next = tokio::time::timeout(Duration::from_secs(40), async {
        loop {
            match stream.message().await {
                Ok(Some(r)) if r.created() && r.events().is_empty() => continue,
                other => return other,
            }
        }
    })
    .await;
    etcd.signal("CONT");
    let waited = frozen.elapsed();
    // Without pings the watch waits on TCP, which never gives up on a live, silent peer.
    match next {
        Ok(Err(_)) | Ok(Ok(None)) => {}
        Ok(Ok(Some(r))) => panic!("a frozen etcd answered the watch: {r:?}"),
        Err(_) => panic!("the watch hung on a frozen etcd for {waited:?}"),
    }
}
