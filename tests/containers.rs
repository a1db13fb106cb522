//! What the operator puts into containers and what it believes of the containers it finds,
//! on the real fleet: a secret named in `secretFiles` is put into the container (mode 0400)
//! before it starts, and neither `docker inspect`, the status nor the operator's log (at
//! trace) shows it or any other secret; a second container with the cluster's labels on a host stops the operator from
//! acting on that host until a person removes it. Masters that authenticate HTTP (their
//! credentials file given through `secretFiles`) are drained through with the cluster's
//! `httpCredentials`; wrong ones stop the rollout with an error naming the secret. A
//! container removed behind the operator's back is created again at once, woken by the
//! host's Docker event stream, not by the resync. The operator's own image (`make images`)
//! runs as an unprivileged user, has no shell, and converges a cluster from inside it.

mod common;

use std::time::Duration;

use common::fleet::{exclusive, fleet};
use common::operator::{
    apply, event_values, events, phase, store_secrets, wait_phase, ClusterGuard, ClusterOpts,
    Operator, Series, ZK_SUPER,
};
use common::{cli, cli_with_stdin, etcd, parts, unique_prefix};

const NAME: &str = "secfile";
const CREDENTIAL: &str = r#"{"principal": "ops", "secret": "s3cret-value-9f2"}"#;

#[test]
fn a_secret_file_stays_out_of_docker_inspect_and_a_duplicate_container_stops_the_operator() {
    let _g = exclusive();
    let f = fleet();
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec![NAME.into()],
    };
    let prefix = unique_prefix("secret-files");
    store_secrets(&prefix, f);
    let (code, _, err) = parts(&cli_with_stdin(
        &prefix,
        &["secret", "set", "master-credential", "--from-file", "-"],
        CREDENTIAL,
    ));
    assert_eq!(code, 0, "secret set: {err}");
    let mut opts = ClusterOpts::seed(NAME);
    opts.hosts = 1;
    opts.zk_servers = 1;
    opts.masters = 1;
    let host = f.hosts.keys().next().cloned().expect("a host");
    let y = with_master_lines(
        f,
        &opts,
        "    env: {MESOS_CREDENTIAL: 'file:///etc/mesos/credential'}\n    secretFiles: [{secret: master-credential, path: /etc/mesos/credential}]\n",
    );
    // At trace, every library's too: what a person turns on to debug must not print a
    // secret either.
    let mut op = Operator::start_with(&etcd().endpoint, &prefix, &[], &[("RUST_LOG", "trace")]);
    apply(&prefix, &y);
    wait_phase(&prefix, NAME, "Converged", Duration::from_secs(300));

    let container = format!("{NAME}-master-{host}");
    let inside = f.docker_ok(&host, &["exec", &container, "cat", "/etc/mesos/credential"]);
    assert_eq!(inside, CREDENTIAL, "the file holds the secret");
    let mode = f.docker_ok(
        &host,
        &[
            "exec",
            &container,
            "stat",
            "-c",
            "%a",
            "/etc/mesos/credential",
        ],
    );
    assert_eq!(mode, "400");
    let inspect = f.docker_ok(&host, &["inspect", &container]);
    assert!(!inspect.contains("s3cret-value-9f2"), "{inspect}");
    assert!(
        inspect.contains("MESOS_CREDENTIAL=file:///etc/mesos/credential"),
        "the component is pointed at the file"
    );
    let (_, status, _) = parts(&cli(&prefix, &["status", NAME, "-o", "json"]));
    assert!(!status.contains("s3cret-value-9f2"));
    let (_, spec, _) = parts(&cli(&prefix, &["get", NAME, "-o", "json"]));
    assert!(!spec.contains("s3cret-value-9f2"));

    // A hand-run copy of the master with the cluster's labels: which one counts is not for
    // the operator to guess. It says so, and touches neither.
    let image = f.docker_ok(&host, &["inspect", "-f", "{{.Config.Image}}", &container]);
    let intruder = f.docker_ok(
        &host,
        &[
            "run",
            "-d",
            "--name",
            "secfile-intruder",
            "--label",
            &format!("io.mesos-operator.cluster={NAME}"),
            "--label",
            "io.mesos-operator.role=master",
            "--entrypoint",
            "sleep",
            &image,
            "600",
        ],
    );
    let master_id = f.docker_ok(&host, &["inspect", "-f", "{{.Id}}", &container]);
    let msg = wait_phase(&prefix, NAME, "Degraded", Duration::from_secs(60));
    assert!(
        msg.contains("2 master containers") && msg.contains("secfile-intruder"),
        "{msg}"
    );
    // It said so; and it decided on what it saw twice more before the host is checked.
    let looked = op.mark(&Series::reconciles_ok(NAME));
    op.wait_looked(&looked, "the duplicate master reported");
    assert_eq!(
        f.docker_ok(
            &host,
            &["inspect", "-f", "{{.Id}} {{.State.Running}}", &container]
        ),
        format!("{master_id} true"),
        "the cluster's master is left alone"
    );
    assert!(f
        .docker_ok(&host, &["inspect", "-f", "{{.State.Running}}", &intruder])
        .contains("true"));
    f.docker_ok(&host, &["rm", "-f", &intruder]);
    wait_phase(&prefix, NAME, "Converged", Duration::from_secs(120));
    assert!(op.stop().is_some());
    let log = op.log_text();
    assert!(
        log.contains("TRACE"),
        "the operator did not log at trace: the search below would prove nothing"
    );
    let key = std::fs::read_to_string(f.pki.join("client-key.pem")).expect("client key");
    let key_line = key
        .lines()
        .find(|l| !l.starts_with("-----") && l.len() > 40)
        .expect("a line of key material");
    let zk_password = ZK_SUPER
        .split_once(':')
        .map(|(_, p)| p)
        .expect("user:password");
    for (what, bytes) in [
        ("the secret file", "s3cret-value-9f2"),
        ("the ZooKeeper super password", zk_password),
        ("the ZooKeeper super digest", zk_digest().as_str()),
        ("the Docker client key", key_line),
    ] {
        assert!(
            !log.contains(bytes),
            "{what} is in the operator's trace log"
        );
    }
}

/// The hashed digest the ZooKeeper servers are given for [`ZK_SUPER`].
fn zk_digest() -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    base64::engine::general_purpose::STANDARD.encode(Sha1::digest(ZK_SUPER.as_bytes()))
}

const AUTH_NAME: &str = "httpauth";
/// The masters' credentials file (Mesos' JSON format), given to them through `secretFiles`.
const MESOS_CREDENTIALS: &str =
    r#"{"credentials": [{"principal": "ops", "secret": "pw-value-5d2a"}]}"#;
/// The operator's `httpCredentials`, saved with a line end as `echo` leaves one.
const HTTP_CREDENTIALS: &str = "ops:pw-value-5d2a\n";

/// `GET http://{addr}{path}`: the status, or 0 without an answer.
fn status_of(addr: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return 0;
    }
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn set_secret(prefix: &str, name: &str, value: &str) {
    let (code, _, err) = parts(&cli_with_stdin(
        prefix,
        &["secret", "set", name, "--from-file", "-"],
        value,
    ));
    assert_eq!(code, 0, "secret set {name}: {err}");
}

/// Issue 23: a cluster whose masters run with `--authenticate_http_readwrite` (every
/// maintenance call answers 401 without credentials) rolls every agent through
/// maintenance with the document's `httpCredentials`. With a wrong password stored under the
/// same name, the drain fails 401 with an error naming the field and the secret (never the
/// bytes); the right one stored again is used from the next step.
#[test]
fn masters_that_authenticate_http_are_drained_through_with_the_cluster_s_credentials() {
    let _g = exclusive();
    let f = fleet();
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec![AUTH_NAME.into()],
    };
    let prefix = unique_prefix("http-credentials");
    store_secrets(&prefix, f);
    set_secret(&prefix, "mesos-credentials", MESOS_CREDENTIALS);
    set_secret(&prefix, "mesos-http", HTTP_CREDENTIALS);
    let mut opts = ClusterOpts::seed(AUTH_NAME);
    opts.hosts = 2;
    opts.zk_servers = 1;
    opts.masters = 1;
    opts.health_timeout = "90s".into();
    let hosts: Vec<String> = f.hosts.keys().take(2).cloned().collect();
    let y = with_master_lines(
        f,
        &opts,
        "    env: {MESOS_AUTHENTICATE_HTTP_READWRITE: 'true', MESOS_CREDENTIALS: 'file:///etc/mesos/credentials'}\n    secretFiles: [{secret: mesos-credentials, path: /etc/mesos/credentials}]\n  httpCredentials: {secret: mesos-http}\n",
    );
    let mut op = Operator::start_with(&etcd().endpoint, &prefix, &[], &[("RUST_LOG", "debug")]);
    apply(&prefix, &y);
    wait_phase(&prefix, AUTH_NAME, "Converged", Duration::from_secs(300));
    let master_host = &hosts[0];
    let master = format!("{}:5050", f.host(master_host).ip);
    // The masters demand credentials: a maintenance call without them is refused.
    assert_eq!(status_of(&master, "/master/maintenance/schedule"), 401);
    assert_eq!(status_of(&master, "/health"), 200);

    // A wrong password under the same name: the rollout waits, saying who was refused.
    set_secret(&prefix, "mesos-http", "ops:not-the-password\n");
    let from = event_values(&prefix, AUTH_NAME).len();
    let (code, _, err) = parts(&cli(&prefix, &["bump", AUTH_NAME, "agents", "1.12.0-rc1"]));
    assert_eq!(code, 0, "bump: {err}");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let refused = loop {
        let (_, message, _) = phase(&prefix, AUTH_NAME);
        if message.contains("401") {
            break message;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no 401 reported: {message}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        refused.contains("spec.httpCredentials") && refused.contains("mesos-http"),
        "{refused}"
    );
    assert!(!refused.contains("not-the-password"), "{refused}");

    // The right one again: every agent goes through maintenance onto the new image.
    set_secret(&prefix, "mesos-http", HTTP_CREDENTIALS);
    wait_phase(&prefix, AUTH_NAME, "Converged", Duration::from_secs(300));
    let ev = events(&prefix, AUTH_NAME);
    for kind in ["AgentDrain", "AgentDown", "ReplaceContainer", "AgentUp"] {
        let mut done: Vec<&str> = ev[from.min(ev.len())..]
            .iter()
            .filter(|e| e.0 == kind && e.2 == "ok" && e.3 == "agents")
            .map(|e| e.1.as_str())
            .collect();
        done.sort();
        done.dedup();
        assert_eq!(
            done,
            hosts.iter().map(String::as_str).collect::<Vec<_>>(),
            "{kind}: {ev:?}"
        );
    }
    for h in &hosts {
        let image = f.docker_ok(
            h,
            &[
                "inspect",
                "-f",
                "{{.Config.Image}}",
                &format!("{AUTH_NAME}-agent-{h}"),
            ],
        );
        assert!(image.ends_with("mesos-agent:1.12.0-rc1"), "{h}: {image}");
    }
    assert!(op.stop().is_some());
    let log = op.log_text();
    for (what, bytes) in [
        ("the password", "pw-value-5d2a"),
        ("the wrong password", "not-the-password"),
        // base64("ops:pw-value-5d2a"), the header's value.
        ("the Authorization header", "b3BzOnB3LXZhbHVlLTVkMmE"),
    ] {
        assert!(!log.contains(bytes), "{what} is in the operator's log");
    }
}

/// The document of `opts` (one master) with `lines` after its master's image, count and
/// port, in place of the seed's one-line masters entry: the master's `env` and
/// `secretFiles`, and any spec field that follows.
fn with_master_lines(f: &common::fleet::Fleet, opts: &ClusterOpts, lines: &str) -> String {
    let y = opts.yaml(f);
    let plain = format!(
        "  masters: {{image: '{}', count: 1, port: 5050}}\n",
        opts.master_image
    );
    assert!(y.contains(&plain), "{y}");
    y.replace(
        &plain,
        &format!(
            "  masters:\n    image: '{}'\n    count: 1\n    port: 5050\n{lines}",
            opts.master_image
        ),
    )
}

/// `docker rm -f` on a converged cluster's agent: the host's Docker event stream wakes the
/// cluster and the agent is created again, though the operator looks at a converged
/// cluster only every ten minutes here (before the event streams it waited for that look).
#[test]
fn a_container_removed_behind_the_operator_s_back_is_created_again_without_waiting_for_a_resync() {
    let _g = exclusive();
    let f = fleet();
    let name = "evrepair";
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec![name.into()],
    };
    let prefix = unique_prefix("events");
    store_secrets(&prefix, f);
    let mut opts = ClusterOpts::seed(name);
    opts.hosts = 1;
    opts.zk_servers = 1;
    opts.masters = 1;
    let host = f.hosts.keys().next().cloned().expect("a host");
    let op = Operator::start(
        &prefix,
        &["--resync-secs", "600", "--resync-watched-secs", "600"],
    );
    apply(&prefix, &opts.yaml(f));
    wait_phase(&prefix, name, "Converged", Duration::from_secs(300));
    let agent = format!("{name}-agent-{host}");
    let before = f.docker_ok(&host, &["inspect", "-f", "{{.Id}}", &agent]);
    // The cluster is converged and looked at again only in ten minutes: anything that
    // happens to it now is seen through its host's event stream or not at all.
    let looked = op.mark(&Series::reconciles(name));
    f.docker_ok(&host, &["rm", "-f", &agent]);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let again = loop {
        let out = f.docker(
            &host,
            &["inspect", "-f", "{{.Id}} {{.State.Running}}", &agent],
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if id.ends_with(" true") && !id.starts_with(&before) {
            break id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the removed agent was not created again within 90 s (the resync is 600 s)"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(!again.starts_with(&before), "a new container");
    wait_phase(&prefix, name, "Converged", Duration::from_secs(120));
    assert!(
        op.counter(&Series::docker_events(&host)).unwrap_or(0.0) >= 1.0,
        "the wake came from the host's event stream"
    );
    op.wait_counted(
        &looked,
        1,
        "the reconcile the removal woke",
        Duration::from_secs(5),
    );
}

/// The operator's image, as `make images` builds it (images/operator).
const OPERATOR_IMAGE: &str = "mesos-operator/operator:dev";
const IMAGED: &str = "imaged";

/// `docker` on this machine (not a test bed host): its output, or a panic naming `args`.
fn local_docker(args: &[&str]) -> std::process::Output {
    std::process::Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("docker {args:?}: {e}"))
}

/// A container on this machine, removed (its log printed if the test failed) on drop.
struct LocalContainer(String);

impl Drop for LocalContainer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let out = local_docker(&["logs", "--tail", "80", &self.0]);
            eprintln!(
                "---- {} (last 80 lines)\n{}{}",
                self.0,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let _ = local_docker(&["rm", "-f", &self.0]);
    }
}

/// The image users run: an unprivileged user, no shell to get into, and `run` from inside
/// it (on the host's network, as the test bed's etcd listens on loopback) converges a
/// cluster on the test bed.
#[test]
fn the_operator_image_runs_unprivileged_without_a_shell_and_converges_a_cluster() {
    let _g = exclusive();
    let f = fleet();
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec![IMAGED.into()],
    };
    let user = local_docker(&["image", "inspect", "-f", "{{.Config.User}}", OPERATOR_IMAGE]);
    assert!(
        user.status.success(),
        "no {OPERATOR_IMAGE}: run `make images`"
    );
    assert_eq!(String::from_utf8_lossy(&user.stdout).trim(), "10001:10001");
    for shell in ["/bin/sh", "/bin/bash"] {
        let out = local_docker(&[
            "run",
            "--rm",
            "--entrypoint",
            shell,
            OPERATOR_IMAGE,
            "-c",
            "true",
        ]);
        assert!(!out.status.success(), "the image has {shell}");
    }

    let prefix = unique_prefix("image");
    store_secrets(&prefix, f);
    let mut opts = ClusterOpts::seed(IMAGED);
    opts.hosts = 1;
    opts.zk_servers = 1;
    opts.masters = 1;
    apply(&prefix, &opts.yaml(f));
    let name = format!("mesos-operator-image-test-{}", std::process::id());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let metrics = format!("127.0.0.1:{port}");
    let etcd_env = format!("MESOS_OPERATOR_ETCD={}", etcd().endpoint);
    let prefix_env = format!("MESOS_OPERATOR_ETCD_PREFIX={prefix}");
    let started = local_docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "host",
        "-e",
        &etcd_env,
        "-e",
        &prefix_env,
        OPERATOR_IMAGE,
        "run",
        "--metrics-addr",
        &metrics,
        "--poll-ms",
        "500",
    ]);
    let _container = LocalContainer(name.clone());
    assert!(
        started.status.success(),
        "docker run: {}",
        String::from_utf8_lossy(&started.stderr)
    );
    wait_phase(&prefix, IMAGED, "Converged", Duration::from_secs(300));
    // The process in it runs as that user, as the host sees it.
    let top = local_docker(&["top", &name, "-o", "uid,comm"]);
    let top = String::from_utf8_lossy(&top.stdout);
    assert!(
        top.lines()
            .any(|l| l.contains("10001") && l.contains("mesos-operator")),
        "{top}"
    );
    assert_eq!(status_of(&metrics, "/readyz"), 200);
}
