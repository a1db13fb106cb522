//! Host preflight on the real fleet (issue 27): each failure reproduced on the test bed,
//! not mocked. One cluster of three hosts, ZooKeeper, a master and Marathon on the first,
//! an agent on each; before its agents are placed, each host gets one cause:
//! - host1: the agent's data volume on a filesystem too small (a 1 MiB tmpfs volume);
//! - host2: the agent's port taken by a stray container with host networking;
//! - host3: the host's own name removed from its /etc/hosts and its DNS (does not resolve).
//!
//! The rest of the cluster is placed; each agent is held with its check's name and fix in
//! the status, the events and the gauge; `preflight` and `doctor` say the same; and each
//! agent is placed once its cause is removed. Before the causes, the test bed's own hosts
//! pass `preflight` (warnings only). What the test bed cannot do (cgroup v2, a skewed
//! clock) runs against a simulated engine in the library's unit tests.

mod common;

use std::time::Duration;

use common::fleet::{exclusive, fleet, Fleet};
use common::operator::{
    apply, event_values, phase, store_secrets, wait_phase, wait_until, ClusterGuard, ClusterOpts,
    Operator, ZK_SUPER,
};
use common::{cli, parts, unique_prefix};

const NAME: &str = "pre";

/// Keeps host3's /etc/hosts and /etc/resolv.conf before they are changed, and puts them back.
const SAVE: &str = "[ -f /tmp/hosts.orig ] || { cp /etc/hosts /tmp/hosts.orig && cp /etc/resolv.conf /tmp/resolv.orig; }";
const RESTORE: &str = "if [ -f /tmp/hosts.orig ]; then cat /tmp/hosts.orig > /etc/hosts && cat /tmp/resolv.orig > /etc/resolv.conf && rm /tmp/hosts.orig /tmp/resolv.orig; fi";

/// The stray's name on host2.
const STRAY: &str = "stray-port-holder";

fn hosts(f: &Fleet) -> Vec<String> {
    f.hosts.keys().take(3).cloned().collect()
}

/// Runs `sh -c script` in the test bed's outer container of `host` (its own /etc/hosts).
fn on_outer(f: &Fleet, host: &str, script: &str) {
    let o = std::process::Command::new("docker")
        .args(["exec", &f.host(host).container, "sh", "-c", script])
        .output()
        .expect("docker exec");
    assert!(
        o.status.success(),
        "{script} on {host}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn preflight(prefix: &str, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["preflight", NAME];
    all.extend_from_slice(args);
    parts(&cli(prefix, &all))
}

/// The status' preflight entries as (host, check, result).
fn status_preflight(prefix: &str) -> Vec<(String, String, String, String)> {
    let (code, out, _) = parts(&cli(prefix, &["status", NAME, "-o", "json"]));
    if code != 0 {
        return vec![];
    }
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    v["preflight"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    (
                        r["host"].as_str().unwrap_or_default().to_string(),
                        r["check"].as_str().unwrap_or_default().to_string(),
                        r["outcome"].as_str().unwrap_or_default().to_string(),
                        r["fix"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn running(f: &Fleet, host: &str, container: &str) -> bool {
    let o = f.docker(host, &["inspect", "-f", "{{.State.Running}}", container]);
    String::from_utf8_lossy(&o.stdout).trim() == "true"
}

#[test]
fn each_cause_holds_its_agent_with_the_check_s_name_and_fix_until_it_is_removed() {
    let _g = exclusive();
    let f = fleet();
    let hs = hosts(f);
    let (h1, h2, h3) = (hs[0].clone(), hs[1].clone(), hs[2].clone());
    let _clean = ClusterGuard {
        fleet: f,
        clusters: vec![NAME.into()],
    };
    // Whatever happens, the causes go with the test.
    struct Causes<'a>(&'a Fleet, String, String, String);
    impl Drop for Causes<'_> {
        fn drop(&mut self) {
            let _ = self.0.docker(&self.2, &["rm", "-f", STRAY]);
            let _ = self.0.docker(
                &self.1,
                &[
                    "volume",
                    "rm",
                    "-f",
                    &format!("{NAME}-agent-{}-data", self.1),
                ],
            );
            let _ = std::process::Command::new("docker")
                .args(["exec", &self.0.host(&self.3).container, "sh", "-c", RESTORE])
                .output();
        }
    }
    let _causes = Causes(f, h1.clone(), h2.clone(), h3.clone());

    let prefix = unique_prefix("preflight");
    store_secrets(&prefix, f);
    let mut opts = ClusterOpts::seed(NAME);
    opts.zk_servers = 1;
    opts.masters = 1;
    opts.paused = true;
    apply(&prefix, &opts.yaml(f));

    // The test bed's own hosts pass: nothing fails (the open-files limit the machine
    // gives containers may warn).
    let (code, out, err) = preflight(&prefix, &[]);
    assert_eq!(
        code, 0,
        "the test bed's hosts pass preflight:\n{out}\n{err}"
    );
    assert!(!out.contains(" fail"), "{out}");
    for check in [
        "DockerApiVersion",
        "CgroupVersion",
        "ClockSkew",
        "DiskSpace",
        "PortsFree",
        "HostnameResolves",
        "AddressRoutable",
    ] {
        for h in &hs {
            assert!(
                out.lines()
                    .any(|l| l.starts_with(check) && l.contains(h.as_str()) && l.contains("pass")),
                "{check} passes on {h}:\n{out}"
            );
        }
    }

    // The causes.
    f.docker_ok(
        &h1,
        &[
            "volume",
            "create",
            "--driver",
            "local",
            "--opt",
            "type=tmpfs",
            "--opt",
            "device=tmpfs",
            "--opt",
            "o=size=1m",
            &format!("{NAME}-agent-{h1}-data"),
        ],
    );
    let zk = format!("{}/zookeeper:3.8.0", f.registry);
    f.docker_ok(&h2, &["pull", "-q", &zk]);
    f.docker_ok(
        &h2,
        &[
            "run", "-d", "--name", STRAY, "--network", "host", "--entrypoint", "perl", &zk, "-MIO::Socket::INET",
            "-e", "my $s = IO::Socket::INET->new(LocalPort => 5051, Listen => 5, ReuseAddr => 1) or die $!; sleep 3600",
        ],
    );
    // The name goes from the host's /etc/hosts (Docker writes `<ip>\t<name>`) and from its
    // DNS (the test bed network's DNS knows the host by name): a resolver that refuses.
    on_outer(f, &h3, &format!("{SAVE} && awk '$2 != \"{h3}\"' /etc/hosts > /tmp/hosts && cat /tmp/hosts > /etc/hosts && echo 'nameserver 127.0.0.1' > /etc/resolv.conf"));

    let (code, out, _) = preflight(&prefix, &[]);
    assert_eq!(code, 1, "a failed check exits 1:\n{out}");
    for (check, host) in [
        ("DiskSpace", &h1),
        ("PortsFree", &h2),
        ("HostnameResolves", &h3),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(check) && l.contains(host.as_str()) && l.contains("fail")),
            "{check} fails on {host}:\n{out}"
        );
    }
    let (code, out, _) = preflight(&prefix, &["--host", &h2, "-o", "json"]);
    assert_eq!(code, 1);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).expect("json");
    assert!(rows.iter().all(|r| r["host"] == h2.as_str()));
    let port = rows
        .iter()
        .find(|r| r["check"] == "PortsFree")
        .expect("PortsFree row");
    assert_eq!(port["outcome"], "fail");
    assert!(
        port["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("5051 (Mesos agent)"),
        "{port}"
    );
    let (code, _, err) = preflight(&prefix, &["--host", "nohost"]);
    assert_eq!(code, 2, "an unknown host is bad usage: {err}");

    // The operator: ZooKeeper, the master and Marathon are placed; each agent is held.
    let op = Operator::start(&prefix, &[]);
    let (code, _, err) = parts(&cli(&prefix, &["resume", NAME]));
    assert_eq!(code, 0, "{err}");
    let message = wait_phase(&prefix, NAME, "Blocked", Duration::from_secs(150));
    for (check, host) in [
        ("DiskSpace", &h1),
        ("PortsFree", &h2),
        ("HostnameResolves", &h3),
    ] {
        assert!(message.contains(&format!("{check} on {host}")), "{message}");
    }
    assert!(message.contains("ignorePreflight"), "{message}");
    for role in ["zookeeper", "master", "marathon"] {
        assert!(
            running(f, &h1, &format!("{NAME}-{role}-{h1}")),
            "the {role} is placed on {h1}"
        );
    }
    for h in &hs {
        assert!(
            !running(f, h, &format!("{NAME}-agent-{h}")),
            "no agent on {h}"
        );
    }
    let st = status_preflight(&prefix);
    assert!(
        st.iter().any(|(h, c, o, fix)| *h == h2
            && c == "PortsFree"
            && o == "fail"
            && fix.contains("ss -ltnp")),
        "{st:?}"
    );
    let held: Vec<serde_json::Value> = event_values(&prefix, NAME)
        .into_iter()
        .filter(|e| e["kind"] == "Preflight" && e["outcome"] == "held")
        .collect();
    for (check, host) in [
        ("DiskSpace", &h1),
        ("PortsFree", &h2),
        ("HostnameResolves", &h3),
    ] {
        assert!(
            held.iter().any(|e| e["host"] == host.as_str()
                && e["step"].as_str().unwrap_or_default().starts_with(check)),
            "a held event for {check} on {host}: {held:?}"
        );
    }
    assert_eq!(
        op.gauge(&format!(
            "mesos_operator_preflight_check{{cluster=\"{NAME}\",host=\"{h2}\",check=\"PortsFree\"}}"
        )),
        Some(2.0)
    );

    // doctor: the failing checks, the leader views; no secret.
    let (code, out, err) = parts(&cli(&prefix, &["doctor", NAME]));
    assert_eq!(code, 0, "{err}");
    for want in [
        "Blocked",
        "PortsFree",
        "HostnameResolves",
        "DiskSpace",
        "leaders:",
        "zookeeper: voters",
    ] {
        assert!(out.contains(want), "doctor says {want}:\n{out}");
    }
    let password = ZK_SUPER.split_once(':').map(|(_, p)| p).unwrap_or(ZK_SUPER);
    assert!(!out.contains(password), "doctor shows no secret:\n{out}");

    // Each cause removed, its agent is placed.
    f.docker_ok(&h2, &["rm", "-f", STRAY]);
    let took = wait_until("the agent on host2", Duration::from_secs(90), || {
        running(f, &h2, &format!("{NAME}-agent-{h2}"))
    });
    eprintln!(
        "agent placed {:.1}s after the stray went",
        took.as_secs_f64()
    );
    on_outer(f, &h3, RESTORE);
    wait_until("the agent on host3", Duration::from_secs(90), || {
        running(f, &h3, &format!("{NAME}-agent-{h3}"))
    });
    f.docker_ok(&h1, &["volume", "rm", &format!("{NAME}-agent-{h1}-data")]);
    wait_until("the agent on host1", Duration::from_secs(90), || {
        running(f, &h1, &format!("{NAME}-agent-{h1}"))
    });
    wait_phase(&prefix, NAME, "Converged", Duration::from_secs(120));
    assert!(
        status_preflight(&prefix).is_empty(),
        "{:?}",
        phase(&prefix, NAME)
    );
}
