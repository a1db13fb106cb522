//! What ships in `ops/` as the tests read it: the alert rules and their `promtool` tests,
//! the Grafana dashboard and its queries, and a real Prometheus (Debian's `prometheus`
//! server, a child process on a free loopback port) scraping an operator with those rules
//! loaded, asked through its HTTP API.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::repo_path;

/// The alert rules file.
pub const RULES: &str = "ops/prometheus/mesos-operator.rules.yml";
/// Its `promtool test rules` file.
pub const RULE_TESTS: &str = "ops/prometheus/mesos-operator.tests.yml";
/// The dashboard.
pub const DASHBOARD: &str = "ops/grafana/mesos-operator.json";
/// What the dashboard's `$cluster` variable stands for when every cluster is chosen.
pub const ALL_CLUSTERS: &str = ".*";

/// A rules file.
#[derive(Debug, Deserialize)]
pub struct RuleFile {
    /// Its groups.
    pub groups: Vec<RuleGroup>,
}

/// A rule group.
#[derive(Debug, Deserialize)]
pub struct RuleGroup {
    /// Name.
    pub name: String,
    /// Rules.
    pub rules: Vec<Rule>,
}

/// An alerting rule (the recording rules of the dashboard check are written, not read).
#[derive(Debug, Deserialize)]
pub struct Rule {
    /// The alert's name.
    pub alert: String,
    /// PromQL.
    pub expr: String,
    /// How long the expression must hold.
    #[serde(rename = "for")]
    pub for_: Option<String>,
    /// Labels (severity).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations (summary, description, runbook_url).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A `promtool test rules` file, as far as the coverage check reads it.
#[derive(Debug, Deserialize)]
pub struct RuleTests {
    /// Test groups.
    pub tests: Vec<RuleTestGroup>,
}

/// One group of input series and the alerts expected from them.
#[derive(Debug, Deserialize)]
pub struct RuleTestGroup {
    /// The expectations.
    #[serde(default)]
    pub alert_rule_test: Vec<AlertTest>,
}

/// One expectation: `alertname` at `eval_time` fires exactly `exp_alerts`.
#[derive(Debug, Deserialize)]
pub struct AlertTest {
    /// The alert.
    pub alertname: String,
    /// The alerts expected (empty: silent).
    #[serde(default)]
    pub exp_alerts: Vec<serde_yaml_ng::Value>,
}

/// The alert rules as shipped.
pub fn rules() -> Vec<Rule> {
    let text = std::fs::read_to_string(repo_path(RULES)).expect("read the rules");
    let file: RuleFile = serde_yaml_ng::from_str(&text).expect("rules parse");
    file.groups.into_iter().flat_map(|g| g.rules).collect()
}

/// The alert tests as shipped.
pub fn rule_tests() -> Vec<AlertTest> {
    let text = std::fs::read_to_string(repo_path(RULE_TESTS)).expect("read the rule tests");
    let file: RuleTests = serde_yaml_ng::from_str(&text).expect("rule tests parse");
    file.tests
        .into_iter()
        .flat_map(|g| g.alert_rule_test)
        .collect()
}

/// The alerts without a firing case or without a silent case, and the tests of alerts that
/// do not exist, one line each (empty: every alert is tested both ways).
pub fn untested(alerts: &[&str], tests: &[AlertTest]) -> Vec<String> {
    let mut problems = Vec::new();
    for a in alerts {
        let mine: Vec<&AlertTest> = tests.iter().filter(|t| t.alertname == *a).collect();
        if !mine.iter().any(|t| !t.exp_alerts.is_empty()) {
            problems.push(format!("{a}: no test case where it fires"));
        }
        if !mine.iter().any(|t| t.exp_alerts.is_empty()) {
            problems.push(format!("{a}: no test case where it stays silent"));
        }
    }
    for t in tests {
        if !alerts.contains(&t.alertname.as_str()) {
            problems.push(format!("{}: tested, but no such alert", t.alertname));
        }
    }
    problems
}

/// One query of the dashboard: the panel's title, the target's refId, and its PromQL with
/// `$cluster` standing for every cluster.
#[derive(Debug, Clone)]
pub struct PanelQuery {
    /// Panel title.
    pub panel: String,
    /// Target refId.
    pub ref_id: String,
    /// PromQL.
    pub expr: String,
}

/// The dashboard as parsed JSON.
pub fn dashboard() -> serde_json::Value {
    let text = std::fs::read_to_string(repo_path(DASHBOARD)).expect("read the dashboard");
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// Every query of every panel of `dash` (rows and their nested panels included).
pub fn dashboard_queries(dash: &serde_json::Value) -> Vec<PanelQuery> {
    let mut out = Vec::new();
    for p in panels(dash) {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push(PanelQuery {
                panel: p["title"].as_str().unwrap_or_default().to_string(),
                ref_id: t["refId"].as_str().unwrap_or_default().to_string(),
                expr: t["expr"]
                    .as_str()
                    .unwrap_or_default()
                    .replace("$cluster", ALL_CLUSTERS),
            });
        }
    }
    out
}

/// Every panel, those inside collapsed rows too.
pub fn panels(dash: &serde_json::Value) -> Vec<&serde_json::Value> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().into_iter().flatten() {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    out
}

/// The metric names (`mesos_operator_…`) a PromQL expression reads.
pub fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("mesos_operator_") {
        let preceded = rest[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        if !preceded {
            names.push(tail[..end].to_string());
        }
        rest = &tail[end..];
    }
    names.sort();
    names.dedup();
    names
}

/// Runs promtool with `args` in `dir`; panics with instructions if it is missing.
pub fn promtool(dir: &Path, args: &[&str]) -> Output {
    match Command::new("promtool")
        .current_dir(dir)
        .args(args)
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "promtool not found on PATH: run scripts/deps.sh (it installs Debian's `prometheus` \
             package, which ships promtool); this test does not skip the check"
        ),
        Err(e) => panic!("starting promtool: {e}"),
    }
}

/// The rules with every `for:` shortened to `secs` seconds, for a test that sees an alert
/// fire within seconds: the expressions, labels and annotations are the shipped ones; the
/// durations themselves are covered by `promtool test rules`.
pub fn rules_with_short_for(secs: u32) -> String {
    let text = std::fs::read_to_string(repo_path(RULES)).expect("read the rules");
    text.lines()
        .map(|l| match l.trim_start().strip_prefix("for: ") {
            Some(_) => format!("{}for: {secs}s", &l[..l.len() - l.trim_start().len()]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// `s` percent-encoded for a URL query or a form body.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A Prometheus server of the test's own.
pub struct Prometheus {
    child: Option<Child>,
    /// `127.0.0.1:PORT` of its web/API listener.
    pub addr: String,
    dir: PathBuf,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (`host:port` of an operator's admin server) as
    /// job `mesos-operator` every second, evaluating `rules` (a rules file's text) every
    /// second; waits until it is ready.
    pub fn start(target: &str, rules: &str) -> Prometheus {
        let dir = tempfile::tempdir().expect("tmp").keep();
        std::fs::write(dir.join("rules.yml"), rules).expect("write rules");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - rules.yml\n\
             scrape_configs:\n  - job_name: mesos-operator\n    static_configs:\n      - targets: ['{target}']\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("write config");
        let check = promtool(&dir, &["check", "config", "prometheus.yml"]);
        assert!(
            check.status.success(),
            "promtool check config: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let addr = format!("127.0.0.1:{}", free_port());
        let log = std::fs::File::create(dir.join("prometheus.log")).expect("log");
        let child = match Command::new("prometheus")
            .current_dir(&dir)
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
        {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "prometheus not found on PATH: run scripts/deps.sh (Debian's `prometheus` package)"
            ),
            Err(e) => panic!("starting prometheus: {e}"),
        };
        let p = Prometheus {
            child: Some(child),
            addr,
            dir,
        };
        let t = Instant::now();
        while p.get("/-/ready").0 != 200 {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "prometheus not ready within 30 s; its log:\n{}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    /// Its log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default()
    }

    /// GET `path` (HTTP/1.0: Prometheus then sends no chunked body): (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        super::http_get(&self.addr, path, "HTTP/1.0", Duration::from_secs(10))
    }

    /// An instant query: the `data.result` array (panics on an API error, with it).
    pub fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        let (code, body) = self.get(&format!("/api/v1/query?query={}", urlencode(expr)));
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("query {expr}: HTTP {code}, not JSON ({e}): {body}"));
        assert_eq!(v["status"], "success", "query {expr}: {v}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The alerts in state `firing` now, as their label sets.
    pub fn firing(&self) -> Vec<BTreeMap<String, String>> {
        let (code, body) = self.get("/api/v1/alerts");
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("alerts: HTTP {code}, not JSON ({e}): {body}"));
        v["data"]["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["state"] == "firing")
            .map(|a| {
                a["labels"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .collect()
    }

    /// Whether `alert` fires with (at least) `labels`.
    pub fn fires(&self, alert: &str, labels: &[(&str, &str)]) -> bool {
        self.firing().iter().any(|a| {
            a.get("alertname").map(String::as_str) == Some(alert)
                && labels
                    .iter()
                    .all(|(k, v)| a.get(*k).map(String::as_str) == Some(*v))
        })
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
