//! The test bed itself: what every integration test, the demo and the benchmarks stand on.

mod common;

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::fleet::{exclusive, fleet, four_letter, shared, Scoped};

fn ensemble(f: &common::fleet::Fleet) -> String {
    f.hosts
        .values()
        .enumerate()
        .map(|(i, h)| format!("{}={}", i + 1, h.ip))
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn a_host_answers_over_mutual_tls_and_refuses_a_client_without_a_certificate() {
    let _g = shared();
    let f = fleet();
    let v = f.docker_ok("host1", &["version", "--format", "{{.Server.Version}}"]);
    assert!(!v.is_empty());
    // Same CA, no client certificate: the daemon refuses the handshake.
    let out = std::process::Command::new("docker")
        .arg("--tlsverify")
        .arg("--tlscacert")
        .arg(f.pki.join("ca.pem"))
        .arg("-H")
        .arg(format!("tcp://{}:2376", f.host("host1").ip))
        .arg("version")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("certificate") || err.contains("tls"), "{err}");
}

#[test]
fn a_pull_on_a_host_comes_from_the_registry() {
    let _g = shared();
    let f = fleet();
    let image = format!("{}/zookeeper:3.8.0-2", f.registry);
    let _ = f.docker("host2", &["rmi", "-f", &image]);
    assert!(!f
        .docker("host2", &["image", "inspect", &image])
        .status
        .success());
    f.docker_ok("host2", &["pull", "-q", &image]);
    let digests = f.docker_ok(
        "host2",
        &["image", "inspect", "-f", "{{json .RepoDigests}}", &image],
    );
    assert!(
        digests.contains(&format!("{}/zookeeper@sha256:", f.registry)),
        "{digests}"
    );
}

#[test]
fn a_zookeeper_ensemble_runs_across_three_hosts_and_answers_from_outside() {
    let _g = shared();
    let f = fleet();
    let label = format!("io.mesos-operator.test=zk-{}", std::process::id());
    let _scope = Scoped {
        fleet: f,
        label: label.clone(),
    };
    let image = format!("{}/zookeeper:3.8.0", f.registry);
    let ens = ensemble(f);
    for (i, h) in f.hosts.values().enumerate().take(3) {
        let vol = format!("zk-test-{}", std::process::id());
        f.docker_ok(
            &h.name,
            &[
                "run",
                "-d",
                "--name",
                &format!("zk-test-{}", std::process::id()),
                "--label",
                &label,
                "--net",
                "host",
                "-e",
                &format!("ZK_SERVER_ID={}", i + 1),
                "-e",
                &format!("ZK_ENSEMBLE={ens}"),
                "-e",
                &format!("ZK_ADDRESS={}", h.ip),
                "-v",
                &format!("{vol}:/var/lib/zookeeper"),
                &image,
            ],
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let modes: Vec<String> = f
            .hosts
            .values()
            .take(3)
            .map(|h| {
                four_letter(&h.ip, 2181, "srvr", Duration::from_secs(2))
                    .lines()
                    .find_map(|l| l.strip_prefix("Mode: ").map(str::to_string))
                    .unwrap_or_default()
            })
            .collect();
        let leaders = modes.iter().filter(|m| *m == "leader").count();
        let followers = modes.iter().filter(|m| *m == "follower").count();
        if leaders == 1 && followers == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no quorum: modes {modes:?}");
        std::thread::sleep(Duration::from_millis(300));
    }
    for h in f.hosts.values().take(3) {
        assert_eq!(
            four_letter(&h.ip, 2181, "ruok", Duration::from_secs(2)),
            "imok"
        );
    }
}

#[test]
fn fault_helpers_do_what_they_say() {
    let _g = exclusive();
    let f = fleet();
    let ip = f.host("host3").ip.clone();
    let addr: SocketAddr = format!("{ip}:2376").parse().unwrap();

    // Frozen: the kernel still accepts TCP, but dockerd answers nothing.
    f.freeze("host3");
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok());
    let t = Instant::now();
    let out = f
        .docker_command("host3", &["timeout", "3"])
        .arg("version")
        .output()
        .unwrap();
    assert!(!out.status.success() && t.elapsed() >= Duration::from_secs(2));
    f.thaw("host3");
    f.wait_docker("host3");

    // Partitioned: nothing connects; healed: back on the same address.
    f.partition("host3");
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
    f.heal("host3");
    f.wait_docker("host3");

    // Partitioned from a peer only: the peer is unreachable from inside, the outer machine
    // still reaches the host.
    let peer = f.host("host1").ip.clone();
    let probe = |f: &common::fleet::Fleet| {
        std::process::Command::new("docker")
            .args([
                "exec",
                &f.host("host3").container,
                "timeout",
                "2",
                "bash",
                "-c",
            ])
            .arg(format!("exec 3<>/dev/tcp/{peer}/2376"))
            .status()
            .unwrap()
            .success()
    };
    assert!(probe(f));
    f.partition_from("host3", &["host1"]);
    assert!(!probe(f));
    f.docker_ok("host3", &["version"]);
    f.heal_from("host3", &["host1"]);
    assert!(probe(f));

    // A killed host comes back with its containers (restart policy) and data.
    let label = format!("io.mesos-operator.test=fault-{}", std::process::id());
    let _scope = Scoped {
        fleet: f,
        label: label.clone(),
    };
    let image = format!("{}/zookeeper:3.8.0", f.registry);
    let name = format!("survivor-{}", std::process::id());
    f.docker_ok(
        "host3",
        &[
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            &label,
            "--restart",
            "unless-stopped",
            "--entrypoint",
            "sleep",
            &image,
            "3600",
        ],
    );
    f.kill_host("host3");
    f.start_host("host3");
    let deadline = Instant::now() + Duration::from_secs(60);
    while f.docker_ok("host3", &["inspect", "-f", "{{.State.Running}}", &name]) != "true" {
        assert!(
            Instant::now() < deadline,
            "container did not come back after the host restart: {}",
            f.docker_ok("host3", &["inspect", "-f", "{{json .State}}", &name])
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // A container killed behind the operator's back is seen as exited.
    f.kill_container("host3", &name);
    let state = f.docker_ok("host3", &["inspect", "-f", "{{.State.Status}}", &name]);
    assert_eq!(state, "exited");
}

/// The container-event recorder, the replicas test's witness of what a deposed leader did:
/// it hears what is done to the cluster's containers on each host, only that, without its
/// own markers.
#[test]
fn the_event_recorder_hears_what_is_done_to_a_clusters_containers() {
    let _g = shared();
    let f = fleet();
    let me = std::process::id();
    let cluster = format!("evrec-{me}");
    let test_label = format!("io.mesos-operator.test=evrec-{me}");
    let _scope = Scoped {
        fleet: f,
        label: test_label.clone(),
    };
    let hosts: Vec<String> = f.hosts.keys().cloned().collect();
    let image = format!("{}/zookeeper:3.8.0", f.registry);
    let create = |name: &str, cluster: &str| {
        let out = f.docker_ok(
            "host2",
            &[
                "create",
                "--name",
                name,
                "--label",
                &test_label,
                "--label",
                &format!("io.mesos-operator.cluster={cluster}"),
                &image,
                "true",
            ],
        );
        out.lines().last().unwrap_or_default().to_string()
    };
    let events = f.container_events(&hosts, &cluster);
    let mine = format!("evrec-mine-{me}");
    let theirs = format!("evrec-theirs-{me}");
    let a = create(&mine, &cluster);
    let b = create(&theirs, &format!("evrec-other-{me}"));
    f.docker_ok("host2", &["rm", "-f", "-v", &a]);
    f.docker_ok("host2", &["rm", "-f", "-v", &b]);
    let seen = events.finish();
    let actions: Vec<(&str, &str, &str)> = seen
        .iter()
        .map(|(_, h, a, n)| (h.as_str(), a.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("host2", "create", mine.as_str()),
            ("host2", "destroy", mine.as_str())
        ],
        "{seen:?}"
    );
}
