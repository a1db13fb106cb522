//! What ships in `ops/` for the people who run the operator, checked without a fleet: the
//! alert rules pass `promtool check rules --lint=all --lint-fatal` and their own `promtool
//! test rules`, every alert has a firing and a silent test case, a severity, a summary, a
//! description and a runbook section; the Grafana dashboard is current (timeseries and stat
//! panels on a datasource variable), every query of it is valid PromQL (promtool checks it
//! wrapped as a recording rule), and every metric it reads is one a running operator
//! exports (read from the live `/metrics` of `mesos-operator run`).
//! Against a real Prometheus and a real fleet, the alerts and the dashboard's queries are
//! exercised by tests/autoupdate.rs.

mod common;

use std::time::{Duration, Instant};

use common::operator::{apply, Operator};
use common::prometheus::{
    dashboard, dashboard_queries, metric_names, panels, promtool, rule_tests, rules, untested,
    AlertTest, RULES, RULE_TESTS,
};
use common::{repo_path, unique_prefix};

/// A Prometheus duration (`30s`, `5m`, `3h`, `3d`) in seconds.
fn seconds(d: &str) -> u64 {
    let (n, unit) = d.split_at(d.len() - 1);
    let n: u64 = n.parse().unwrap_or_else(|_| panic!("duration {d:?}"));
    n * match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => panic!("duration {d:?}: unit"),
    }
}

fn words(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_alert_rules_are_lint_clean_and_pass_their_promtool_tests() {
    let root = repo_path(".");
    let check = promtool(
        &root,
        &["check", "rules", "--lint=all", "--lint-fatal", RULES],
    );
    assert!(
        check.status.success(),
        "promtool check rules: {}",
        words(&check)
    );
    let test = promtool(&root, &["test", "rules", RULE_TESTS]);
    assert!(
        test.status.success(),
        "promtool test rules: {}",
        words(&test)
    );
}

#[test]
fn every_alert_is_tested_firing_and_silent_and_has_a_severity_and_a_runbook() {
    let rules = rules();
    assert!(
        (10..=14).contains(&rules.len()),
        "{} alerts: the set is meant to stay small enough to page on",
        rules.len()
    );
    let names: Vec<&str> = rules.iter().map(|r| r.alert.as_str()).collect();
    let problems = untested(&names, &rule_tests());
    assert!(
        problems.is_empty(),
        "{RULE_TESTS}:\n{}",
        problems.join("\n")
    );

    let runbooks = std::fs::read_to_string(repo_path("docs/runbooks.md")).expect("runbooks");
    for r in &rules {
        let a = &r.alert;
        let severity = r.labels.get("severity").map(String::as_str);
        assert!(
            matches!(severity, Some("critical" | "warning" | "info")),
            "{a}: severity {severity:?}"
        );
        for key in ["summary", "description"] {
            assert!(
                r.annotations.get(key).is_some_and(|v| v.len() > 20),
                "{a}: no {key}"
            );
        }
        assert_eq!(
            r.annotations.get("runbook_url").map(String::as_str),
            Some(format!("docs/runbooks.md#{}", a.to_lowercase()).as_str()),
            "{a}: runbook_url"
        );
        let section = runbooks
            .split("\n## ")
            .find(|s| s.starts_with(&format!("{a}\n")))
            .unwrap_or_else(|| panic!("docs/runbooks.md has no section \"## {a}\""));
        for part in ["**Means.**", "**Confirm.**", "**Do.**"] {
            assert!(section.contains(part), "{a}: its runbook has no {part}");
        }
        assert!(
            section.contains("mesos-operator "),
            "{a}: its runbook shows no command to confirm it"
        );
        // A `for:` of seconds pages on every blip; an alert that must fire at once (an
        // event, as a rollback) has none.
        if let Some(f) = &r.for_ {
            assert!(seconds(f) >= 300, "{a}: for: {f} is too short to page on");
        }
        assert!(
            r.expr.contains("job=\"mesos-operator\""),
            "{a}: every expression selects the operator's job"
        );
    }
}

#[test]
fn the_coverage_check_names_an_alert_without_a_test() {
    let firing = || AlertTest {
        alertname: "A".into(),
        exp_alerts: vec![serde_yaml_ng::Value::Null],
    };
    let silent = || AlertTest {
        alertname: "A".into(),
        exp_alerts: vec![],
    };
    assert!(untested(&["A"], &[firing(), silent()]).is_empty());
    assert_eq!(
        untested(&["A", "B"], &[firing(), silent()]),
        [
            "B: no test case where it fires",
            "B: no test case where it stays silent"
        ]
    );
    assert_eq!(
        untested(&["A"], &[firing()]),
        ["A: no test case where it stays silent"]
    );
    assert_eq!(
        untested(&["A"], &[silent()]),
        ["A: no test case where it fires"]
    );
    assert_eq!(untested(&[], &[silent()]), ["A: tested, but no such alert"]);
}

#[test]
fn metric_names_are_read_out_of_promql() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.95, sum by (le) (rate(mesos_operator_step_duration_seconds_bucket[5m]))) / max(mesos_operator_leader) + my_mesos_operator_x"#
        ),
        [
            "mesos_operator_leader",
            "mesos_operator_step_duration_seconds_bucket"
        ]
    );
}

#[test]
fn the_dashboard_is_current_grafana_on_a_datasource_variable() {
    let d = dashboard();
    assert!(
        d["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
        "schemaVersion {}",
        d["schemaVersion"]
    );
    let vars = d["templating"]["list"].as_array().expect("templating");
    let ds = vars
        .iter()
        .find(|v| v["type"] == "datasource")
        .expect("a datasource variable");
    assert_eq!(ds["query"], "prometheus");
    let uses = format!("${{{}}}", ds["name"].as_str().expect("its name"));
    for v in vars.iter().filter(|v| v["type"] == "query") {
        assert_eq!(
            v["datasource"]["uid"],
            uses.as_str(),
            "variable {}",
            v["name"]
        );
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut graphs = 0;
    for p in panels(&d) {
        let title = p["title"].as_str().unwrap_or_default();
        assert!(
            ids.insert(p["id"].as_u64().expect("panel id")),
            "{title}: id twice"
        );
        match p["type"].as_str() {
            Some("row") => continue,
            Some("timeseries" | "stat") => graphs += 1,
            other => panic!("{title}: panel type {other:?} (timeseries or stat only)"),
        }
        assert!(!title.is_empty() && p["description"].is_string(), "{p}");
        assert_eq!(p["datasource"]["uid"], uses.as_str(), "{title}");
        assert_eq!(p["datasource"]["type"], "prometheus", "{title}");
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        for t in targets {
            assert_eq!(t["datasource"]["uid"], uses.as_str(), "{title}");
            assert!(t["expr"].as_str().is_some_and(|e| !e.is_empty()), "{title}");
        }
    }
    assert!(graphs >= 10, "{graphs} panels");
}

/// Every query, wrapped as a recording rule, passes promtool; every metric name in them is
/// exported by a running operator (one cluster with automated bumps, on hosts that do not
/// answer: what is looked at is which series exist, not their values).
#[test]
fn every_dashboard_query_is_valid_promql_over_metrics_a_running_operator_exports() {
    let queries = dashboard_queries(&dashboard());
    let dir = tempfile::tempdir().expect("tmp");
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, q) in queries.iter().enumerate() {
        rules.push_str(&format!(
            "      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(&q.expr).expect("a JSON string is a YAML string")
        ));
    }
    std::fs::write(dir.path().join("dashboard.rules.yml"), &rules).expect("write");
    let check = promtool(dir.path(), &["check", "rules", "dashboard.rules.yml"]);
    assert!(
        check.status.success(),
        "the dashboard's queries as recording rules: {}\n{rules}",
        words(&check)
    );

    let prefix = unique_prefix("ops-dashboard");
    let op = Operator::start(&prefix, &[]);
    let doc = std::fs::read_to_string(repo_path("manifests/examples/cluster7-autoupdate.yaml"))
        .expect("example");
    apply(&prefix, &doc);
    let mut wanted: Vec<String> = queries.iter().flat_map(|q| metric_names(&q.expr)).collect();
    wanted.sort();
    wanted.dedup();
    let exported = |body: &str, name: &str| {
        body.lines()
            .any(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
    };
    let t = Instant::now();
    loop {
        let (code, body) = op.admin_get("/metrics");
        let missing: Vec<&String> = wanted
            .iter()
            .filter(|n| code != 200 || !exported(&body, n))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the dashboard reads metrics the operator does not export: {missing:?}\n/metrics:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "{} dashboard queries over {} metric names, all exported",
        queries.len(),
        wanted.len()
    );
}
