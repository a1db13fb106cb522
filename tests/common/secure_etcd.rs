//! A real etcd of its own for one test, with TLS (a throw-away CA, a server certificate for
//! 127.0.0.1, client certificates required) and/or authentication (users and roles made
//! with Debian's `etcdctl`, a short token TTL), restartable on its data, ended by its pid.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, watchdog, which};

/// The root password of the test etcd (never a real secret).
const ROOT_PASSWORD: &str = "root-test-password";

/// How the etcd is secured.
#[derive(Clone, Copy, Default)]
pub struct Security {
    /// TLS with `--client-cert-auth`.
    pub tls: bool,
    /// Authentication on, with simple tokens living this many seconds.
    pub token_ttl_secs: Option<u64>,
}

/// A running secured etcd.
pub struct SecureEtcd {
    /// `https://127.0.0.1:PORT` or `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The CA, server and client certificates (`ca.pem`, `client-cert.pem`, ...).
    pub pki: PathBuf,
    dir: PathBuf,
    security: Security,
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
    auth_on: bool,
}

impl SecureEtcd {
    /// Starts etcd and waits until it answers.
    pub fn start(security: Security) -> SecureEtcd {
        let dir = tempfile::Builder::new()
            .prefix("mesos-operator-test-secure-etcd-")
            .tempdir()
            .expect("temp dir")
            .keep();
        let pki = dir.join("pki");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pki.sh");
        let ok = Command::new("bash")
            .arg(script)
            .arg(&pki)
            .arg("etcd=127.0.0.1")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "scripts/pki.sh failed");
        let scheme = if security.tls { "https" } else { "http" };
        let client_port = free_port();
        let mut e = SecureEtcd {
            endpoint: format!("{scheme}://127.0.0.1:{client_port}"),
            pki,
            dir,
            security,
            client_port,
            peer_port: free_port(),
            child: None,
            auth_on: false,
        };
        e.spawn();
        e
    }

    fn spawn(&mut self) {
        let bin = which("etcd").expect("etcd not found: `make test` installs Debian's etcd-server");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("etcd.log"))
            .expect("etcd log");
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let mut cmd = Command::new(bin);
        cmd.arg("--name")
            .arg("secure")
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .arg("--listen-client-urls")
            .arg(&self.endpoint)
            .arg("--advertise-client-urls")
            .arg(&self.endpoint)
            .arg("--listen-peer-urls")
            .arg(&peer)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer)
            .arg("--initial-cluster")
            .arg(format!("secure={peer}"));
        if self.security.tls {
            cmd.arg("--cert-file")
                .arg(self.pki.join("etcd-cert.pem"))
                .arg("--key-file")
                .arg(self.pki.join("etcd-key.pem"))
                .arg("--trusted-ca-file")
                .arg(self.pki.join("ca.pem"))
                .arg("--client-cert-auth");
        }
        if let Some(ttl) = self.security.token_ttl_secs {
            cmd.arg("--auth-token")
                .arg("simple")
                .arg("--auth-token-ttl")
                .arg(ttl.to_string());
        }
        let child = cmd
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start etcd");
        watchdog(child.id(), &self.dir);
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let o = if self.auth_on {
                self.etcdctl(&["get", "health"])
            } else {
                self.etcdctl_as(None, &["get", "health"])
            };
            if o.status.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "etcd did not become healthy: {}; see {}",
                String::from_utf8_lossy(&o.stderr),
                self.dir.join("etcd.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops etcd (SIGTERM, as a service manager does) and starts it again on its data:
    /// every simple token it had handed out is gone.
    pub fn restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let _ = c.wait();
        }
        self.spawn();
    }

    /// Sends `signal` (`STOP`, `CONT`) to etcd.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().map(|c| c.id()).expect("etcd running");
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{signal} etcd");
    }

    /// The TLS options of the command line (`--etcd-cacert`, `--etcd-cert`, `--etcd-key`).
    pub fn tls_args(&self) -> Vec<String> {
        if !self.security.tls {
            return Vec::new();
        }
        vec![
            "--etcd-cacert".into(),
            self.pki.join("ca.pem").display().to_string(),
            "--etcd-cert".into(),
            self.pki.join("client-cert.pem").display().to_string(),
            "--etcd-key".into(),
            self.pki.join("client-key.pem").display().to_string(),
        ]
    }

    /// The same as [`mesos_operator::etcd::EtcdOptions`], for in-process clients.
    pub fn options(
        &self,
        prefix: &str,
        user: Option<(&str, &str)>,
    ) -> mesos_operator::etcd::EtcdOptions {
        let tls = self.security.tls;
        mesos_operator::etcd::EtcdOptions {
            endpoints: vec![self.endpoint.clone()],
            prefix: prefix.to_string(),
            user: user.map(|(u, _)| u.to_string()),
            password: user.map(|(_, p)| p.to_string()),
            ca_file: tls.then(|| self.pki.join("ca.pem")),
            cert_file: tls.then(|| self.pki.join("client-cert.pem")),
            key_file: tls.then(|| self.pki.join("client-key.pem")),
        }
    }

    /// `etcdctl` as root (once auth is on).
    pub fn etcdctl(&self, args: &[&str]) -> Output {
        self.etcdctl_as(Some(("root", ROOT_PASSWORD)), args)
    }

    fn etcdctl_as(&self, user: Option<(&str, &str)>, args: &[&str]) -> Output {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3")
            .arg("--endpoints")
            .arg(&self.endpoint)
            .arg("--dial-timeout=2s")
            .arg("--command-timeout=5s");
        if self.security.tls {
            cmd.arg("--cacert")
                .arg(self.pki.join("ca.pem"))
                .arg("--cert")
                .arg(self.pki.join("client-cert.pem"))
                .arg("--key")
                .arg(self.pki.join("client-key.pem"));
        }
        if let Some((u, p)) = user {
            cmd.arg("--user").arg(format!("{u}:{p}"));
        }
        cmd.args(args).output().expect("run etcdctl")
    }

    fn etcdctl_ok(&self, user: Option<(&str, &str)>, args: &[&str]) {
        let o = self.etcdctl_as(user, args);
        assert!(
            o.status.success(),
            "etcdctl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    /// Turns authentication on with the roles the README gives, under `prefix`: user
    /// `operator` (role `mesos-operator`: read/write `clusters/`, `leader` and
    /// `spec-writes`, read-only `secrets/` and `secret-scopes/`) and user `person` (role
    /// `mesos-operator-people`: read/write `clusters/`, `spec-writes` and `secret-scopes/`,
    /// write-only `secrets/`). Each user's
    /// password is its name with `-pw`.
    pub fn enable_auth(&mut self, prefix: &str) {
        let none = None;
        self.etcdctl_ok(
            none,
            &[
                "user",
                "add",
                "root",
                "--interactive=false",
                &format!("--new-user-password={ROOT_PASSWORD}"),
            ],
        );
        let grants: [(&str, &[(&str, &str)]); 2] = [
            (
                "mesos-operator",
                &[
                    ("readwrite", "clusters/"),
                    ("readwrite", "leader"),
                    ("readwrite", "spec-writes"),
                    ("read", "secrets/"),
                    ("read", "secret-scopes/"),
                ],
            ),
            (
                "mesos-operator-people",
                &[
                    ("readwrite", "clusters/"),
                    ("readwrite", "spec-writes"),
                    ("write", "secrets/"),
                    ("readwrite", "secret-scopes/"),
                ],
            ),
        ];
        for (role, perms) in grants {
            self.etcdctl_ok(none, &["role", "add", role]);
            for (perm, key) in perms {
                let key = format!("{prefix}{key}");
                let mut args = vec!["role", "grant-permission", role, perm, &key];
                if key.ends_with('/') {
                    args.push("--prefix=true");
                }
                self.etcdctl_ok(none, &args);
            }
        }
        for (user, role) in [
            ("operator", "mesos-operator"),
            ("person", "mesos-operator-people"),
        ] {
            self.etcdctl_ok(
                none,
                &[
                    "user",
                    "add",
                    user,
                    "--interactive=false",
                    &format!("--new-user-password={user}-pw"),
                ],
            );
            self.etcdctl_ok(none, &["user", "grant-role", user, role]);
        }
        self.etcdctl_ok(none, &["auth", "enable"]);
        self.auth_on = true;
    }
}

impl Drop for SecureEtcd {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-CONT")
                .arg(c.id().to_string())
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
