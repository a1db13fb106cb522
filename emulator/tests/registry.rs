//! The master keeps its registry in its work dir and recovers it at start: the emulator's
//! binary run as a process (a master without ZooKeeper leads alone), stopped, and started
//! again on the same `--work_dir`, on a fresh one, and on a copy of the first (a restored
//! backup). No Docker, no fleet.

#[path = "../../tests/common/workload.rs"]
mod workload;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct MasterProcess {
    child: Child,
    addr: String,
}

impl Drop for MasterProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(work_dir: &Path) -> MasterProcess {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_mesos-emulator"))
        .arg("master")
        .arg(format!("--work_dir={}", work_dir.display()))
        .arg("--ip=127.0.0.1")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let m = MasterProcess {
        child,
        addr: format!("127.0.0.1:{port}"),
    };
    eventually("the master to serve", || {
        call(&m.addr, "GET", "/master/health", "").filter(|(s, _)| *s == 200)
    });
    m
}

/// One HTTP call, as the fleet tests make them.
fn call(addr: &str, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    workload::call(method, addr, path, body)
}

fn get_json(addr: &str, path: &str) -> Value {
    let (status, body) = call(addr, "GET", path, "").unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn register(addr: &str, id: &str, host: &str, ip: &str) -> (u16, String) {
    let body = json!({
        "id": id, "hostname": host, "ip": ip, "port": 5051,
        "pid": format!("slave(1)@{ip}:5051"), "version": "1.11.0", "tasks": [],
    });
    eventually("the master to answer a registration", || {
        call(addr, "POST", "/emulator/register-agent", &body.to_string()).filter(|(s, _)| *s != 503)
    })
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

fn schedule(host: &str, ip: &str) -> String {
    json!({"windows": [{
        "machine_ids": [{"hostname": host, "ip": ip}],
        "unavailability": {"start": {"nanoseconds": 1_000_000_000_i64}},
    }]})
    .to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn a_restarted_master_recovers_its_agents_and_maintenance_from_its_work_dir() {
    let root = tempfile_root("restart");
    let work = root.join("work");
    let (agent_id, _) = {
        let m = start(&work);
        let (status, body) = register(&m.addr, "", "a1", "10.0.0.21");
        assert_eq!(status, 200, "{body}");
        let reg: Value = serde_json::from_str(&body).unwrap_or(json!({}));
        let slaves = get_json(&m.addr, "/master/slaves");
        let id = ids(&slaves, "slaves").pop().unwrap();
        if let Some(said) = reg["id"].as_str() {
            assert_eq!(said, id);
        }
        let (s, b) = call(
            &m.addr,
            "POST",
            "/master/maintenance/schedule",
            &schedule("a2", "10.0.0.22"),
        )
        .unwrap();
        assert_eq!(s, 200, "{b}");
        let (s, b) = call(
            &m.addr,
            "POST",
            "/master/machine/down",
            &json!([{"hostname": "a2", "ip": "10.0.0.22"}]).to_string(),
        )
        .unwrap();
        assert_eq!(s, 200, "{b}");
        assert!(
            work.join("replicated_log/registry.json").exists(),
            "the log is in the work dir"
        );
        (id, ())
    };
    // A backup of the log, taken while the master is stopped.
    let backup = root.join("backup");
    copy_dir(&work, &backup);

    // Started again on the same work dir: the agent waits to re-register, the machine is
    // still down and refused.
    {
        let m = start(&work);
        let slaves = get_json(&m.addr, "/master/slaves");
        assert_eq!(ids(&slaves, "recovered_slaves"), vec![agent_id.clone()]);
        assert!(ids(&slaves, "slaves").is_empty());
        let status = get_json(&m.addr, "/master/maintenance/status");
        assert_eq!(status["down_machines"][0]["hostname"], "a2");
        assert_eq!(
            get_json(&m.addr, "/master/maintenance/schedule")["windows"][0]["machine_ids"][0]
                ["hostname"],
            "a2"
        );
        let (s, b) = register(&m.addr, "", "a2", "10.0.0.22");
        assert_eq!(s, 403, "a DOWN machine stays refused after a restart: {b}");
        // The agent re-registers with its id and leaves the recovered ones.
        let (s, b) = register(&m.addr, &agent_id, "a1", "10.0.0.21");
        assert_eq!(s, 200, "{b}");
        let slaves = get_json(&m.addr, "/master/slaves");
        assert_eq!(ids(&slaves, "slaves"), vec![agent_id.clone()]);
        assert!(ids(&slaves, "recovered_slaves").is_empty());
        // A machine brought up after the backup was taken.
        let (s, b) = call(
            &m.addr,
            "POST",
            "/master/machine/up",
            &json!([{"hostname": "a2", "ip": "10.0.0.22"}]).to_string(),
        )
        .unwrap();
        assert_eq!(s, 200, "{b}");
    }

    // A wiped work dir is an empty registry: nothing recovered, nothing in maintenance.
    {
        let m = start(&root.join("fresh"));
        let slaves = get_json(&m.addr, "/master/slaves");
        assert!(ids(&slaves, "recovered_slaves").is_empty());
        let status = get_json(&m.addr, "/master/maintenance/status");
        assert_eq!(status["down_machines"], json!([]));
    }

    // The backup restored into a new work dir: the registry as it was when it was taken
    // (the machine down again), not as it was later.
    {
        let m = start(&backup);
        let slaves = get_json(&m.addr, "/master/slaves");
        assert_eq!(ids(&slaves, "recovered_slaves"), vec![agent_id]);
        let status = get_json(&m.addr, "/master/maintenance/status");
        assert_eq!(status["down_machines"][0]["hostname"], "a2");
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_corrupt_log_stops_the_master() {
    let root = tempfile_root("corrupt");
    let work = root.join("work");
    std::fs::create_dir_all(work.join("replicated_log")).unwrap();
    std::fs::write(work.join("replicated_log/registry.json"), b"{torn").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mesos-emulator"))
        .arg("master")
        .arg(format!("--work_dir={}", work.display()))
        .arg("--ip=127.0.0.1")
        .arg(format!("--port={}", free_port()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("Failed to recover the replicated log"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

fn tempfile_root(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!(
        "emulator-registry-test-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
