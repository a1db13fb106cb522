//! The `mesos-operator` command line: argument definitions, dispatch and exit codes.
//!
//! Exit codes are part of the contract: 0 success, 1 a failed operation (etcd unreachable,
//! conflict, not found), 2 bad usage or invalid input. Scripts branch on them, so every
//! error is mapped here in one place rather than decided command by command.

mod autoupdate;
mod backup;
mod doctor;
mod document;
mod edit;
mod events;
mod output;
mod plan;
mod preflight;
mod record;
pub mod reference;
mod run;
mod secret;
mod status;
mod version;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use crate::etcd::EtcdOptions;
use crate::secrets::Keyring;
use crate::store::{Store, StoreError};

/// Keeps containerized Apache Mesos clusters converged on a fleet of Docker hosts.
#[derive(Debug, Parser)]
#[command(name = "mesos-operator", version, about)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalOpts,
    /// Log format on standard error.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "MESOS_OPERATOR_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// Options every command that talks to etcd takes.
#[derive(Debug, clap::Args)]
pub(crate) struct GlobalOpts {
    /// etcd endpoints, comma-separated.
    #[arg(
        long,
        global = true,
        env = "MESOS_OPERATOR_ETCD",
        default_value = "http://127.0.0.1:2379",
        value_delimiter = ','
    )]
    etcd: Vec<String>,
    /// Key prefix for everything the operator stores.
    #[arg(
        long,
        global = true,
        env = "MESOS_OPERATOR_ETCD_PREFIX",
        default_value = "/mesos-operator/"
    )]
    etcd_prefix: String,
    /// Earlier generations kept per cluster for `history` and `rollback` (older ones are
    /// pruned as new ones are written).
    #[arg(
        long,
        global = true,
        env = "MESOS_OPERATOR_HISTORY_LIMIT",
        default_value_t = crate::store::DEFAULT_HISTORY_LIMIT
    )]
    history_limit: u64,
    /// etcd user; the password comes from MESOS_OPERATOR_ETCD_PASSWORD or --etcd-password-file.
    #[arg(long, global = true, env = "MESOS_OPERATOR_ETCD_USER")]
    etcd_user: Option<String>,
    /// File holding the etcd password (never pass a password on the command line).
    #[arg(long, global = true, env = "MESOS_OPERATOR_ETCD_PASSWORD_FILE")]
    etcd_password_file: Option<PathBuf>,
    /// CA certificate (PEM) for etcd's TLS.
    #[arg(long, global = true, env = "MESOS_OPERATOR_ETCD_CACERT")]
    etcd_cacert: Option<PathBuf>,
    /// Client certificate (PEM) for etcd's mutual TLS.
    #[arg(long, global = true, env = "MESOS_OPERATOR_ETCD_CERT")]
    etcd_cert: Option<PathBuf>,
    /// Client key (PEM) for etcd's mutual TLS.
    #[arg(long, global = true, env = "MESOS_OPERATOR_ETCD_KEY")]
    etcd_key: Option<PathBuf>,
    /// Key file for secrets encrypted at rest in etcd (`run`, `plan`, `secret ...`): one key
    /// per line, `NAME:BASE64` of exactly 32 random bytes (`head -c 32 /dev/urandom |
    /// base64`); `#` comments and blank lines are ignored. The FIRST key encrypts, any listed
    /// key decrypts. Rotate: put the new key first, run `secret reencrypt`, then drop the old
    /// line. The file must be private to its owner (`chmod 600`).
    #[arg(
        long,
        global = true,
        env = "MESOS_OPERATOR_SECRETS_KEY_FILE",
        value_name = "PATH"
    )]
    secrets_key_file: Option<PathBuf>,
    /// Accept a plain `http://` etcd endpoint on another machine: every secret and the etcd
    /// password then cross the network in clear.
    #[arg(long, global = true, env = "MESOS_OPERATOR_ETCD_INSECURE")]
    etcd_insecure: bool,
}

/// Whether a plain `http://` endpoint stays on this machine (a loopback address or
/// `localhost`): the only place clear text is acceptable without `--etcd-insecure`.
fn loopback_endpoint(endpoint: &str) -> bool {
    if !endpoint.starts_with("http://") {
        return true;
    }
    let Some(host) = endpoint
        .parse::<axum::http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_string))
    else {
        return false;
    };
    mesos_operator_core::spec::address::is_loopback(&host)
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Output formats for reading commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A table for people.
    Table,
    /// YAML.
    Yaml,
    /// JSON, stable for scripts.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a document (needs no etcd).
    Validate {
        /// The document, YAML or JSON; `-` reads standard input.
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
    },
    /// Validate and store a document (create or update); prints the new generation.
    Apply {
        /// The document, YAML or JSON; `-` reads standard input.
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// Show what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show the stored desired state; without NAME, list clusters.
    Get {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: Option<String>,
        /// Output format (default: yaml for one cluster, table for the list).
        #[arg(short = 'o', long = "output", value_enum)]
        output: Option<Format>,
    },
    /// Show the status the operator wrote.
    Status {
        /// Cluster name; without one, every cluster with its phase.
        #[arg(value_parser = cluster_name)]
        name: Option<String>,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
        /// Keep printing the status each time the operator writes it.
        #[arg(long)]
        watch: bool,
        /// With --watch: exit 0 once the cluster reaches this phase (e.g. Converged) for
        /// the current generation.
        #[arg(long, value_name = "PHASE")]
        until: Option<String>,
        /// With --watch: give up (exit 1) after this many seconds.
        #[arg(long, value_name = "SECONDS")]
        timeout: Option<u64>,
    },
    /// Ask the running operator for a backup of ZooKeeper and the masters' registry now
    /// (the document's spec.backup says where); it is taken as planned steps.
    Backup {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
    },
    /// The backups recorded for a cluster, oldest first: time, reason, ZooKeeper's zxid and
    /// epoch, voters, the master whose log it holds, size and where.
    Backups {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
    },
    /// The steps the operator took for a cluster, newest first, with outcome and duration.
    Events {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
    },
    /// Set the image tag of one component.
    Bump {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
        /// zookeeper, masters, agents, marathon, dns or loadBalancer (lb).
        component: String,
        /// The new tag, e.g. 1.12.0-rc1.
        tag: String,
    },
    /// Set spec.rollout.paused: the operator observes and reports but takes no step.
    Pause {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
    },
    /// Clear spec.rollout.paused.
    Resume {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
    },
    /// List earlier specs.
    History {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
    },
    /// Store an earlier spec again, as a new generation.
    Rollback {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
        /// Generation to go back to (default: the previous one).
        #[arg(long)]
        to: Option<u64>,
    },
    /// Remove the desired state (spec, status, history). Containers and data stay, and so
    /// do the operator's record and the automation's denylist: re-applying is safe.
    Delete {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
        /// Also remove the cluster's containers (the load balancer, DNS, Marathon, agents, masters, ZooKeeper),
        /// carried out by the running operator; waits until it is done. The data volumes
        /// stay unless --purge-data.
        #[arg(long)]
        cascade: bool,
        /// With --cascade: remove the data volumes too (ZooKeeper's data, the masters'
        /// replicated logs) and every key of the cluster. Cannot be undone.
        #[arg(long)]
        purge_data: bool,
        /// With --cascade: how many seconds to wait for the operator.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// The operator: reconcile every cluster in etcd until stopped (SIGTERM/SIGINT).
    Run(run::RunArgs),
    /// Observe the hosts and print the steps the operator would take now; changes nothing.
    Plan {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
        /// Read secrets from DIR/<name> files instead of etcd.
        #[arg(long)]
        secrets_dir: Option<PathBuf>,
    },
    /// Run the host preflight checks of a cluster's hosts (check, host, result, the fix);
    /// exit 1 when a check failed.
    Preflight {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
        /// Only this host (a name from spec.hosts).
        #[arg(long)]
        host: Option<String>,
        /// Output format.
        #[arg(short = 'o', long = "output", value_enum, default_value = "table")]
        output: Format,
        /// Read secrets from DIR/<name> files instead of etcd.
        #[arg(long)]
        secrets_dir: Option<PathBuf>,
    },
    /// Explain a Blocked or Degraded cluster: failing checks, container logs, probes, the
    /// last failed step, the leader views, in one report (secrets redacted).
    Doctor {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
        /// Read secrets from DIR/<name> files instead of etcd.
        #[arg(long)]
        secrets_dir: Option<PathBuf>,
    },
    /// Manage secret material (TLS keys, ZooKeeper digests).
    Secret {
        #[command(subcommand)]
        command: secret::SecretCommand,
    },
    /// Automated version bumps: the tags seen, resuming a pinned component, the denylist.
    Autoupdate {
        #[command(subcommand)]
        command: autoupdate::AutoUpdateCommand,
    },
    /// The operator's record: decisions only a person can make (`forget-host`).
    Record {
        #[command(subcommand)]
        command: record::RecordCommand,
    },
    /// Approve a tag for a component whose policy has `requireApproval`.
    Approve {
        /// Cluster name.
        #[arg(value_parser = cluster_name)]
        name: String,
        /// zookeeper, masters, agents or marathon.
        #[arg(value_parser = autoupdate::component)]
        component: mesos_operator_core::spec::Component,
        /// The tag, e.g. 1.12.0.
        tag: String,
    },
    /// Print the JSON Schema of the document.
    Schema,
    /// Print the version, the commit and the build time (needs no etcd).
    Version,
    /// Print the shell completion script (needs no etcd), e.g.
    /// `mesos-operator completions bash > /etc/bash_completion.d/mesos-operator`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: reference::Shell,
    },
    /// Write the man pages, one per command, into DIR (needs no etcd).
    ManPages {
        /// An existing directory, e.g. /usr/local/share/man/man1.
        dir: PathBuf,
    },
}

impl Cli {
    /// Whether the command is the operator itself (it logs at info by default).
    pub fn is_run(&self) -> bool {
        matches!(self.command, Command::Run(_))
    }
}

/// Cluster names on the command line obey the rule of `metadata.name` (a DNS label): a
/// name like `c1/history` would otherwise address other keys. Bad usage, exit 2.
fn cluster_name(name: &str) -> Result<String, String> {
    if mesos_operator_core::spec::validate::is_dns_label(name, 40) {
        Ok(name.to_string())
    } else {
        Err(format!(
            "'{name}' is not a cluster name: 1-40 lowercase letters, digits and '-', as in metadata.name"
        ))
    }
}

/// An error with its exit code.
#[derive(Debug)]
pub(crate) enum CliError {
    /// Bad usage or invalid input: exit 2.
    Input(String),
    /// A failed operation: exit 1.
    Failed(String),
    /// etcd could not be reached, and why: exit 1, printed on one line with the endpoints
    /// tried and how to name others (see [`run`]).
    Unreachable(String),
}

impl From<StoreError> for CliError {
    fn from(e: StoreError) -> Self {
        use crate::etcd::ConnectError;
        match e {
            // Bad input, or options that cannot work whatever etcd does: exit 2.
            StoreError::Invalid(_)
            | StoreError::SharedPorts(_)
            | StoreError::Connect(ConnectError::ReadFile { .. })
            | StoreError::Connect(ConnectError::HalfIdentity) => CliError::Input(e.to_string()),
            other => match other.unreachable() {
                Some(cause) => CliError::Unreachable(cause),
                None => CliError::Failed(other.to_string()),
            },
        }
    }
}

type CliResult = Result<(), CliError>;

impl GlobalOpts {
    fn etcd_options(&self) -> Result<EtcdOptions, CliError> {
        let password = match (
            &self.etcd_password_file,
            std::env::var("MESOS_OPERATOR_ETCD_PASSWORD"),
        ) {
            (Some(f), _) => Some(
                std::fs::read_to_string(f)
                    .map_err(|e| {
                        CliError::Input(format!(
                            "cannot read --etcd-password-file {}: {e}",
                            f.display()
                        ))
                    })?
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
            ),
            (None, Ok(p)) => Some(p),
            (None, Err(_)) => None,
        };
        if password.is_some() && self.etcd_user.is_none() {
            return Err(CliError::Input(
                "an etcd password was given but no user; set --etcd-user".into(),
            ));
        }
        if self.etcd_user.is_some() && password.is_none() {
            return Err(CliError::Input(
                "--etcd-user needs a password: put it in a file named by --etcd-password-file, or in MESOS_OPERATOR_ETCD_PASSWORD (never on the command line)".into(),
            ));
        }
        if self.etcd_cert.is_some() != self.etcd_key.is_some() {
            return Err(CliError::Input(
                "--etcd-cert and --etcd-key go together; give both or neither".into(),
            ));
        }
        if let Some(far) = self
            .etcd
            .iter()
            .find(|e| !self.etcd_insecure && !loopback_endpoint(e))
        {
            return Err(CliError::Input(format!(
                "--etcd {far} is plain http:// to another machine: every secret and the etcd password would cross the network in clear; use https:// with --etcd-cacert (and --etcd-cert/--etcd-key for mutual TLS), or pass --etcd-insecure to accept clear text"
            )));
        }
        let tls = self.etcd_cacert.is_some() || self.etcd_cert.is_some();
        if let Some(plain) = self.etcd.iter().find(|e| tls && e.starts_with("http://")) {
            return Err(CliError::Input(format!(
                "TLS options (--etcd-cacert, --etcd-cert) were given but the endpoint {plain} is plain http://; use https://{}",
                plain.trim_start_matches("http://")
            )));
        }
        for (flag, file) in [
            ("--etcd-cacert", &self.etcd_cacert),
            ("--etcd-cert", &self.etcd_cert),
            ("--etcd-key", &self.etcd_key),
        ] {
            if let Some(f) = file {
                std::fs::File::open(f).map_err(|e| {
                    CliError::Input(format!("cannot read {flag} {}: {e}", f.display()))
                })?;
            }
        }
        Ok(EtcdOptions {
            endpoints: self.etcd.clone(),
            prefix: self.etcd_prefix.clone(),
            user: self.etcd_user.clone(),
            password,
            ca_file: self.etcd_cacert.clone(),
            cert_file: self.etcd_cert.clone(),
            key_file: self.etcd_key.clone(),
        })
    }

    /// The keys of `--secrets-key-file`, if given; a bad file is bad input (exit 2), found
    /// before anything is read from or written to etcd.
    fn keyring(&self) -> Result<Option<Arc<Keyring>>, CliError> {
        self.secrets_key_file
            .as_deref()
            .map(|p| Keyring::load(p).map(Arc::new))
            .transpose()
            .map_err(|e| CliError::Input(e.to_string()))
    }

    async fn store(&self) -> Result<Store, CliError> {
        Ok(Store::connect(&self.etcd_options()?)
            .await?
            .with_history_limit(self.history_limit))
    }
}

/// Runs a parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let endpoints = cli.global.etcd.join(",");
    let result = dispatch(cli).await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Input(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(CliError::Failed(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
        Err(CliError::Unreachable(cause)) => {
            eprintln!("error: {}", unreachable_message(&endpoints, &cause));
            ExitCode::from(1)
        }
    }
}

/// One line for an etcd that cannot be reached: where, why, and how to name another (tonic's
/// error chain, printed before, said none of it plainly).
fn unreachable_message(endpoints: &str, cause: &str) -> String {
    format!(
        "cannot reach etcd at {endpoints}: {cause}; set another endpoint with --etcd URL or MESOS_OPERATOR_ETCD=URL"
    )
}

async fn dispatch(cli: Cli) -> CliResult {
    let g = &cli.global;
    match cli.command {
        Command::Validate { file } => document::validate(&file),
        Command::Apply { file, dry_run } => {
            // The document is read and checked before etcd is contacted.
            let doc = document::read_valid_document(&file)?;
            document::apply(&g.store().await?, doc, dry_run).await
        }
        Command::Get { name, output } => {
            document::get(&g.store().await?, name.as_deref(), output).await
        }
        Command::Status {
            name,
            output,
            watch,
            until,
            timeout,
        } => {
            let w = status::Watch {
                enabled: watch,
                until,
                timeout: timeout.map(std::time::Duration::from_secs),
            };
            match name {
                Some(name) => status::status(&g.store().await?, &name, output, w).await,
                None if w.enabled || w.until.is_some() || w.timeout.is_some() => {
                    Err(CliError::Input(
                        "--watch, --until and --timeout follow one cluster: give its name (mesos-operator status NAME --watch)".into(),
                    ))
                }
                None => status::list(&g.store().await?, output).await,
            }
        }
        Command::Events { name, output } => events::run(&g.store().await?, &name, output).await,
        Command::Backup { name } => backup::request(&g.store().await?, &name).await,
        Command::Backups { name, output } => backup::list(&g.store().await?, &name, output).await,
        Command::Run(args) => run::run(g, args).await,
        Command::Bump {
            name,
            component,
            tag,
        } => edit::bump(&g.store().await?, &name, &component, &tag).await,
        Command::Pause { name } => edit::set_paused(&g.store().await?, &name, true).await,
        Command::Resume { name } => edit::set_paused(&g.store().await?, &name, false).await,
        Command::History { name, output } => edit::history(&g.store().await?, &name, output).await,
        Command::Rollback { name, to } => edit::rollback(&g.store().await?, &name, to).await,
        Command::Delete {
            name,
            cascade,
            purge_data,
            timeout,
        } => {
            // Checked before etcd is contacted: nothing is done.
            if purge_data && !cascade {
                return Err(CliError::Input(format!(
                    "--purge-data removes the data volumes the operator's containers used, which only --cascade removes; \
                     use `mesos-operator delete {name} --cascade --purge-data` to remove containers and data, \
                     or drop --purge-data to remove only the desired state"
                )));
            }
            let store = g.store().await?;
            if cascade {
                document::delete_cascade(
                    &store,
                    &name,
                    purge_data,
                    std::time::Duration::from_secs(timeout),
                )
                .await
            } else {
                document::delete(&store, &name).await
            }
        }
        Command::Plan {
            name,
            output,
            secrets_dir,
        } => {
            let keys = g.keyring()?;
            plan::run(&g.store().await?, keys, &name, output, secrets_dir).await
        }
        Command::Preflight {
            name,
            host,
            output,
            secrets_dir,
        } => {
            let keys = g.keyring()?;
            preflight::run(&g.store().await?, keys, &name, host, output, secrets_dir).await
        }
        Command::Doctor { name, secrets_dir } => {
            let keys = g.keyring()?;
            doctor::run(&g.store().await?, keys, &name, secrets_dir).await
        }
        Command::Secret { command } => {
            let keys = g.keyring()?;
            command.check_keys(keys.as_deref())?;
            secret::run(&g.store().await?, keys, command).await
        }
        Command::Autoupdate { command } => autoupdate::run(&g.store().await?, command).await,
        Command::Record { command } => record::run(&g.store().await?, command).await,
        Command::Approve {
            name,
            component,
            tag,
        } => autoupdate::approve(&g.store().await?, &name, component, &tag).await,
        Command::Schema => {
            print!("{}", mesos_operator_core::spec::json_schema());
            Ok(())
        }
        Command::Version => version::run(),
        Command::Completions { shell } => reference::print_completion(shell),
        Command::ManPages { dir } => reference::write_man_pages(&dir),
    }
}

#[cfg(test)]
mod tests {
    use super::loopback_endpoint;

    /// Every global flag says what it is for in `--help`, in its own words (the help of
    /// `--history-limit` once carried `--etcd-user`'s, and `--etcd-user` had none).
    #[test]
    fn each_global_flag_has_its_own_help() {
        use clap::CommandFactory;
        let cmd = super::Cli::command();
        let help = |flag: &str| {
            cmd.get_arguments()
                .find(|a| a.get_long() == Some(flag))
                .and_then(|a| a.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default()
        };
        assert!(
            help("etcd-user").contains("etcd user"),
            "{}",
            help("etcd-user")
        );
        let history = help("history-limit");
        assert!(history.contains("generations"), "{history}");
        assert!(!history.contains("etcd user"), "{history}");
        for a in cmd.get_arguments().filter(|a| a.get_long().is_some()) {
            assert!(
                a.get_help().is_some()
                    || a.get_long() == Some("help")
                    || a.get_long() == Some("version"),
                "--{} has no help",
                a.get_long().unwrap_or_default()
            );
        }
    }

    #[test]
    fn only_loopback_http_endpoints_pass_without_etcd_insecure() {
        for ok in [
            "http://127.0.0.1:2379",
            "http://127.5.6.7:2379",
            "http://localhost:2379",
            "http://[::1]:2379",
            "https://10.0.0.5:2379",
        ] {
            assert!(loopback_endpoint(ok), "{ok}");
        }
        for far in [
            "http://10.0.0.5:2379",
            "http://etcd.example:2379",
            "http://[2001:db8::1]:2379",
            "http://127.0.0.1.example:2379",
        ] {
            assert!(!loopback_endpoint(far), "{far}");
        }
    }
}
