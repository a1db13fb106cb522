//! What the operator puts into containers and what it believes of the containers it finds,
//! on the real fleet: a secret named in `secretFiles` is put into the container (mode 0400)
//! before it starts, and neither `docker inspect`, the status nor the operator's log shows
//! it; a second container with the cluster's labels on a host stops the operator from
//! acting on that host until a person removes it.

mod common;

use std::time::Duration;

use common::fleet::{exclusive, fleet};
use common::operator::{
    apply, store_secrets, wait_phase, ClusterGuard, ClusterOpts, Operator, Series,
};
use common::{cli, cli_with_stdin, parts, unique_prefix};

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
    let y = opts.yaml(f);
    let plain = format!(
        "  masters: {{image: '{}', count: 1, port: 5050}}\n",
        opts.master_image
    );
    assert!(y.contains(&plain), "{y}");
    let y = y.replace(
        &plain,
        &format!(
            "  masters:\n    image: '{}'\n    count: 1\n    port: 5050\n    env: {{MESOS_CREDENTIAL: 'file:///etc/mesos/credential'}}\n    secretFiles: [{{secret: master-credential, path: /etc/mesos/credential}}]\n",
            opts.master_image
        ),
    );
    let mut op = Operator::start(&prefix, &[]);
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
    assert!(!log.contains("s3cret-value-9f2"), "the operator's log");
}
