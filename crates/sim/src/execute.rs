//! The model carries out the operator's operations ([`Op`]), each the way the real executor
//! (`src/act/*.rs`) and the fleet behind it would, and each judged on its own by the
//! model's safety rules ([`crate::safety`]):
//!
//! - `Pull`: fails on an unreachable host or an image no registry has;
//! - `Create`: `ensure_running`: a container of that name with the same config hash counts
//!   as created (the 409 of a retry) and is started if stopped; another hash is a conflict;
//!   otherwise its volumes (labelled, the ZooKeeper one with the server's id) are created
//!   where missing, then the container (component, ZooKeeper id, master quorum and first
//!   ensemble read from the spec, `extra_labels` and `extra_env` as the observer reads a
//!   real container), then it is started;
//! - `Start`: a missing container is Docker's 404; a running one its 304;
//! - `Remove` (by name): stop, then remove; gone already is done (404);
//! - `RemoveVolume`: gone already is done; mounted by a container is Docker's 409;
//! - `ZkReconfig`: needs a quorum; counts as done when the change is already committed;
//!   else conditional on the expected version; a joiner must serve;
//! - `MaintenanceSchedule` / `MachineDown` / `MachineUp`: through the leading master (one
//!   among those asked, with its registry recovered), with the executor's window-start
//!   rules (a machine already in a window is left as it is; a window with another start is
//!   someone else's);
//! - `MarathonAbdicate`: the leader restarts; no leader is Marathon's 404, done;
//! - `RequireServing` / `RequireAgentOutOfService`: the last look, against the model now.
//!
//! A ZooKeeper server's first start on an empty data volume is where identity is decided:
//! it writes its id and reads `ZK_ENSEMBLE`; a later start reads what the volume holds.

use mesos_operator_core::desired::{labels, volume_name, ContainerSpec};
use mesos_operator_core::observed::{ContainerState, Maintenance, ZkConfig};
use mesos_operator_core::ops::{Machine, Op};
use mesos_operator_core::spec::Component;
use std::collections::{BTreeMap, BTreeSet};

use mesos_operator_core::plan::majority;

use crate::model::{LogState, SimCluster, SimContainer, ZkLag};
use crate::op_failed::OpFailed;

/// How far an operation made of several calls got when the operator died inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partial {
    /// `Create`: its volumes exist, the container does not.
    VolumesOnly,
    /// `Create`: the container exists, created, never started.
    NotStarted,
    /// `Remove`: the container is stopped, not removed.
    Stopped,
}

impl SimCluster {
    /// Carries out one operation as the executor and the fleet would, then lets the cluster
    /// settle and judges the operation's effect.
    pub fn execute(&mut self, op: &Op) -> Result<(), OpFailed> {
        self.judged(op, |sim| sim.carry_out(op))
    }

    /// The operator dies inside `op`, between its calls: only the part `partial` names
    /// happens (nothing, for an operation that has no such part).
    pub fn execute_part(&mut self, op: &Op, partial: Partial) {
        let _ = self.judged(op, |sim| {
            match (op, partial) {
                (
                    Op::Create {
                        host,
                        spec,
                        extra_labels,
                        extra_env,
                        ..
                    },
                    Partial::VolumesOnly | Partial::NotStarted,
                ) => {
                    if sim
                        .reachable(host)?
                        .containers
                        .contains_key(&spec.component)
                    {
                        return Ok(()); // the part is a check of the existing container
                    }
                    sim.create_volumes(host, spec, extra_labels);
                    if partial == Partial::NotStarted {
                        sim.create_container(host, spec, extra_labels, extra_env);
                    }
                }
                (Op::Remove { host, name } | Op::Stop { host, name }, Partial::Stopped) => {
                    sim.reachable(host)?;
                    if let Some(comp) = sim.named(host, name) {
                        sim.stop(host, comp);
                    }
                }
                _ => {}
            }
            Ok(())
        });
    }

    fn judged(
        &mut self,
        op: &Op,
        f: impl FnOnce(&mut SimCluster) -> Result<(), OpFailed>,
    ) -> Result<(), OpFailed> {
        let before = self.before_op();
        let stopped = match op {
            Op::Remove { host, name } | Op::Stop { host, name } => self
                .named(host, name)
                .filter(|c| self.live(*c, host))
                .map(|c| (c, host.clone())),
            _ => None,
        };
        let result = f(self);
        self.settle();
        let what = describe(op);
        self.check_after(
            &what,
            stopped.as_ref().map(|(c, h)| (*c, h.as_str())),
            &before,
        );
        result
    }

    fn carry_out(&mut self, op: &Op) -> Result<(), OpFailed> {
        match op {
            Op::Pull { host, image } => {
                self.reachable(host)?;
                if self.missing_images.contains(image) {
                    return Err(OpFailed::ImageMissing {
                        host: host.clone(),
                        image: image.clone(),
                    });
                }
                Ok(())
            }
            Op::Create {
                host,
                spec,
                extra_labels,
                extra_env,
                ..
            } => self.ensure_running(host, spec, extra_labels, extra_env),
            Op::Start { host, name } => {
                self.reachable(host)?;
                let Some(comp) = self.named(host, name) else {
                    return Err(OpFailed::NoSuchContainer {
                        host: host.clone(),
                        name: name.clone(),
                    });
                };
                self.start_if_stopped(host, comp);
                Ok(())
            }
            Op::Remove { host, name } => {
                self.reachable(host)?;
                if let Some(comp) = self.named(host, name) {
                    self.stop(host, comp);
                    if let Some(h) = self.hosts.get_mut(host) {
                        h.containers.remove(&comp);
                    }
                }
                Ok(())
            }
            Op::RemoveVolume { host, volume } => self.remove_volume(host, volume),
            Op::Stop { host, name } => {
                self.reachable(host)?;
                if let Some(comp) = self.named(host, name) {
                    self.stop(host, comp);
                }
                Ok(())
            }
            Op::ArchivePart {
                host,
                name,
                part,
                id,
                ..
            } => {
                self.reachable(host)?;
                let Some(comp) = self.named(host, name) else {
                    return Err(OpFailed::NoSuchContainer {
                        host: host.clone(),
                        name: name.clone(),
                    });
                };
                if self
                    .container(comp, host)
                    .is_some_and(|c| c.state == ContainerState::Running)
                {
                    return Err(OpFailed::BackupFromRunning {
                        host: host.clone(),
                        name: name.clone(),
                    });
                }
                if self.backup_target_broken {
                    return Err(OpFailed::BackupTarget {
                        id: id.clone(),
                        why: "the target refuses writes".into(),
                    });
                }
                self.backup_parts
                    .entry(id.clone())
                    .or_default()
                    .insert(*part);
                Ok(())
            }
            Op::RecordBackup { id, keep, .. } => {
                if self.backup_target_broken {
                    return Err(OpFailed::BackupTarget {
                        id: id.clone(),
                        why: "the target refuses reads".into(),
                    });
                }
                let parts = self.backup_parts.get(id).map_or(0, BTreeSet::len);
                if parts != 2 {
                    return Err(OpFailed::BackupTarget {
                        id: id.clone(),
                        why: format!("{parts} of 2 parts stored"),
                    });
                }
                if !self.backups_recorded.contains(id) {
                    self.backups_recorded.push(id.clone());
                }
                // Retention: the oldest beyond `keep` go, parts and record.
                let ids = self.backups_recorded.clone();
                for old in mesos_operator_core::backup::beyond_retention(&ids, *keep) {
                    self.backups_recorded.retain(|x| *x != old);
                    self.backup_parts.remove(&old);
                }
                Ok(())
            }
            Op::ZkReconfig {
                joining,
                leaving,
                expected_version,
                ..
            } => self.reconfig(joining.as_deref(), *leaving, *expected_version),
            Op::MaintenanceSchedule {
                masters,
                machine,
                start,
            } => {
                self.leading_master_among(masters)?;
                let host = self.machine_host(machine);
                if !self.maintenance.contains_key(&host) {
                    // Already in a window (the operator's, or a person's): none is added.
                    self.maintenance.insert(host.clone(), Maintenance::Draining);
                    self.windows.insert(host, *start);
                }
                Ok(())
            }
            Op::MachineDown {
                masters,
                machine,
                window_start,
            } => {
                self.leading_master_among(masters)?;
                let host = self.machine_host(machine);
                match self.maintenance.get(&host) {
                    Some(Maintenance::Down) => return Ok(()),
                    Some(Maintenance::Draining) => {}
                    None => return Err(OpFailed::NotScheduled { host }),
                }
                self.ensure_ours(&host, *window_start)?;
                if self.people_windows.contains(&host) {
                    self.violation(format!(
                        "the operator took {host} down in a maintenance window a person opened"
                    ));
                }
                self.maintenance.insert(host, Maintenance::Down);
                Ok(())
            }
            Op::MachineUp {
                masters,
                machine,
                window_start,
            } => {
                self.leading_master_among(masters)?;
                let host = self.machine_host(machine);
                match self.maintenance.get(&host) {
                    None => return Ok(()),
                    // Scheduled but never taken down: the machine leaves the operator's
                    // window only (the one with the recorded start).
                    Some(Maintenance::Draining) => {
                        let ours = window_start.is_none_or(|s| self.windows.get(&host) == Some(&s));
                        if !ours {
                            return Ok(());
                        }
                    }
                    Some(Maintenance::Down) => self.ensure_ours(&host, *window_start)?,
                }
                if self.people_windows.contains(&host) {
                    self.violation(format!(
                        "the operator ended the maintenance window a person opened on {host}"
                    ));
                }
                self.maintenance.remove(&host);
                self.windows.remove(&host);
                Ok(())
            }
            Op::MarathonAbdicate { address } => {
                let asked = self.host_at(address);
                if !asked.as_deref().is_some_and(|h| {
                    self.container_seen(Component::Marathon, h)
                        .is_some_and(|c| self.ready(c))
                }) {
                    return Err(OpFailed::MarathonUnreachable {
                        address: address.clone(),
                    });
                }
                // Any instance passes the call to the leader, which exits and is restarted
                // by its restart policy; with no leader, Marathon's 404 counts as done.
                if let Some(leader) = self.marathon_leader.take() {
                    let now = self.now;
                    if let Some(c) = self
                        .hosts
                        .get_mut(&leader)
                        .and_then(|h| h.containers.get_mut(&Component::Marathon))
                    {
                        c.started_at = now;
                    }
                }
                Ok(())
            }
            Op::RequireServing {
                component,
                stopping,
                members,
                at_least,
            } => {
                // Asked by the observation's own probes, now.
                let quorum = self.zk_has_quorum();
                let qok = self.master_quorum_ok();
                let serving = members
                    .iter()
                    .filter_map(|m| self.host_at(m))
                    .filter(|h| match component {
                        // The master asked itself, as the executor asks it (not the group).
                        Component::Masters => self.master_says(h, qok).is_some_and(|m| m.serves()),
                        // `srvr`, and a write that commits through it: a server cut off
                        // from the other voters still answers with its old mode, and
                        // commits nothing.
                        Component::Zookeeper => {
                            self.zk_server_seen(h, quorum).is_some_and(|s| s.serves())
                                && self.commits_through(h)
                        }
                        // As the executor: no look is defined for the others, so none of
                        // them is taken to serve.
                        // Their own probe, now.
                        Component::Dns | Component::LoadBalancer => {
                            self.discovery_serves(*component, h)
                        }
                        Component::Agents | Component::Marathon => false,
                    })
                    .count() as u32;
                if serving < *at_least {
                    return Err(OpFailed::NotServing {
                        component: *component,
                        stopping: stopping.clone(),
                        serving,
                        at_least: *at_least,
                    });
                }
                Ok(())
            }
            Op::RequireAgentOutOfService {
                stopping,
                agent,
                seen,
                ..
            } => {
                let host = self.host_at(agent).unwrap_or_else(|| stopping.clone());
                let answers = self
                    .container_seen(Component::Agents, &host)
                    .is_some_and(|c| self.ready(c));
                // The executor's rule, on the model's answers.
                if seen
                    .serves_again(answers, self.leader_listing(&host))
                    .is_some()
                {
                    return Err(OpFailed::ServesAgain {
                        stopping: stopping.clone(),
                    });
                }
                Ok(())
            }
        }
    }

    /// A write commits through the ZooKeeper server on `host`: a voter on the quorum's
    /// side of any partition.
    fn commits_through(&self, host: &str) -> bool {
        self.container(Component::Zookeeper, host)
            .and_then(|c| c.zk_id)
            .is_some_and(|id| self.zk_serving().contains(&id))
    }

    /// The host, if its engine answers.
    fn reachable(&self, host: &str) -> Result<&crate::model::SimHost, OpFailed> {
        self.hosts
            .get(host)
            .filter(|h| h.reachable && !h.operator_cut)
            .ok_or_else(|| OpFailed::HostUnreachable {
                host: host.to_string(),
            })
    }

    /// The component of the container named `name` on `host`.
    fn named(&self, host: &str, name: &str) -> Option<Component> {
        self.hosts
            .get(host)?
            .containers
            .iter()
            .find(|(_, c)| c.name == name)
            .map(|(k, _)| *k)
    }

    fn ensure_running(
        &mut self,
        host: &str,
        spec: &ContainerSpec,
        extra_labels: &BTreeMap<String, String>,
        extra_env: &BTreeMap<String, String>,
    ) -> Result<(), OpFailed> {
        let existing = self.reachable(host)?.containers.get(&spec.component);
        if let Some(c) = existing {
            // A container of that name (or another of its role, which the observer would
            // refuse to pick between) that carries another configuration is not replaced
            // here.
            if c.name != spec.name || c.config_hash != spec.config_hash {
                return Err(OpFailed::Conflict {
                    host: host.to_string(),
                    name: spec.name.clone(),
                });
            }
            self.start_if_stopped(host, spec.component);
            return Ok(());
        }
        self.create_volumes(host, spec, extra_labels);
        self.create_container(host, spec, extra_labels, extra_env);
        self.start(host, spec.component);
        Ok(())
    }

    /// Creates the spec's volumes that are missing, labelled as the container is (the
    /// ZooKeeper volume with the server's id); an existing volume is kept as it is.
    fn create_volumes(
        &mut self,
        host: &str,
        spec: &ContainerSpec,
        extra_labels: &BTreeMap<String, String>,
    ) {
        let data = volume_name(&self.name, spec.component, host);
        let zk_id = label(extra_labels, labels::ZK_ID);
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        for v in &spec.volumes {
            if h.volumes.contains(&v.volume) {
                continue;
            }
            h.volumes.insert(v.volume.clone());
            if v.volume != data {
                continue;
            }
            match spec.component {
                Component::Zookeeper => {
                    h.zk_volume_id = zk_id;
                    h.zk_initialized = false;
                }
                Component::Masters => h.master_log = Some(LogState::Empty),
                _ => {}
            }
        }
        if spec.component == Component::Masters
            && h.volumes.contains(&data)
            && h.master_log.is_none()
        {
            h.master_log = Some(LogState::Empty);
        }
    }

    /// Creates the container, not started, with its identity read from the labels and
    /// environment as the observer reads them.
    fn create_container(
        &mut self,
        host: &str,
        spec: &ContainerSpec,
        extra_labels: &BTreeMap<String, String>,
        extra_env: &BTreeMap<String, String>,
    ) {
        let c = SimContainer {
            name: spec.name.clone(),
            image: spec.image.clone(),
            config_hash: spec.config_hash.clone(),
            state: ContainerState::Created,
            started_at: 0,
            zk_id: label(extra_labels, labels::ZK_ID),
            master_quorum: label(extra_labels, labels::MASTER_QUORUM),
            zk_first_ensemble: extra_env
                .get("ZK_ENSEMBLE")
                .map(|e| {
                    e.split(',')
                        .filter_map(|m| {
                            let (id, address) = m.split_once('=')?;
                            Some((id.parse().ok()?, address.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            finished_at: 0,
            restart_at: None,
            zk_string: crate::model::zk_string_of(spec.component, &spec.env),
            kills_orphans: crate::model::kills_orphans(spec.component, &spec.env),
            marathon_version: (spec.component == Component::Marathon)
                .then(|| crate::model::image_version(&spec.image))
                .flatten(),
        };
        if let Some(h) = self.hosts.get_mut(host) {
            h.containers.insert(spec.component, c);
        }
    }

    fn start_if_stopped(&mut self, host: &str, comp: Component) {
        let stopped = self
            .hosts
            .get(host)
            .and_then(|h| h.containers.get(&comp))
            .is_some_and(|c| matches!(c.state, ContainerState::Exited | ContainerState::Created));
        if stopped {
            self.start(host, comp);
        }
    }

    fn start(&mut self, host: &str, comp: Component) {
        let now = self.now;
        let Some(c) = self
            .hosts
            .get_mut(host)
            .and_then(|h| h.containers.get_mut(&comp))
        else {
            return;
        };
        c.state = ContainerState::Running;
        c.started_at = now;
        c.restart_at = None;
        if c.kills_orphans {
            // It recovers: every `mesos-*` container it has no record of goes, another
            // cluster's tasks on this engine included.
            if let Some(h) = self.hosts.get_mut(host) {
                h.foreign.retain(|n| !n.starts_with("mesos-"));
            }
            self.violation(format!(
                "the agent on {host} started with docker_kill_orphans and killed the tasks of another cluster on its engine"
            ));
            return;
        }
        let older = c.marathon_version.clone();
        if comp == Component::Zookeeper {
            self.zookeeper_started(host);
        }
        if let (Some(v), Some(state)) = (older, self.marathon_state.clone()) {
            if v < state && !self.rules.allow_marathon_downgrade {
                self.violation(format!(
                    "started Marathon {v:?} on {host} over state migrated to {state:?}: a downgrade the document did not allow"
                ));
            }
        }
    }

    /// A ZooKeeper server starts: the process is whatever `myid` its volume holds; on the
    /// first start on an empty volume it writes the id it was given and reads its first
    /// ensemble, which must be the committed one plus itself (or itself alone, for the
    /// first server of a new ensemble).
    fn zookeeper_started(&mut self, host: &str) {
        let data = volume_name(&self.name, Component::Zookeeper, host);
        let Some(h) = self.hosts.get_mut(host) else {
            return;
        };
        let Some(c) = h.containers.get(&Component::Zookeeper) else {
            return;
        };
        let (Some(id), true) = (c.zk_id, h.volumes.contains(&data)) else {
            return;
        };
        let ensemble: BTreeSet<u64> = c.zk_first_ensemble.iter().map(|(id, _)| *id).collect();
        // The first servers of a new ensemble (one first config naming them all): the
        // config is theirs from the first start, and serves once a majority runs.
        let bootstrap: BTreeMap<u64, String> = c
            .zk_first_ensemble
            .iter()
            .map(|(id, address)| {
                let host = self
                    .addresses
                    .iter()
                    .find(|(_, a)| *a == address)
                    .map_or_else(|| address.clone(), |(h, _)| h.clone());
                (*id, host)
            })
            .collect();
        let held = *h.zk_volume_id.get_or_insert(id);
        let first = !h.zk_initialized;
        h.zk_initialized = true;
        if held != id {
            self.violation(format!(
                "server {id} started on {host} on a volume holding id {held}"
            ));
            return;
        }
        if !first {
            return;
        }
        // A first server of the ensemble that is in force, started for the first time
        // with that very first config: a member of a bootstrap, not a voter that lost its
        // data.
        let bootstrap_member = ensemble.len() > 1
            && !self.zk_ids_used.contains(&id)
            && self
                .zk
                .as_ref()
                .is_some_and(|cfg| cfg.version == 0x1_0000_0000 && cfg.voters == bootstrap);
        if !bootstrap_member
            && self
                .zk
                .as_ref()
                .is_some_and(|cfg| cfg.voters.contains_key(&id))
        {
            self.violation(format!(
                "voter {id} started on {host} without its data (an empty volume)"
            ));
        } else if !self.zk_ids_used.insert(id) {
            self.violation(format!("ZooKeeper id {id} reused"));
        }
        self.zk_highest_id = self.zk_highest_id.max(id);
        match &self.zk {
            None if ensemble == BTreeSet::from([id]) => {
                self.zk = Some(ZkConfig {
                    version: 0x1_0000_0000,
                    voters: BTreeMap::from([(id, host.to_string())]),
                });
            }
            None if ensemble.len() > 1
                && ensemble.contains(&id)
                && bootstrap.get(&id).map(String::as_str) == Some(host)
                && bootstrap.values().collect::<BTreeSet<_>>().len() == bootstrap.len() =>
            {
                self.zk = Some(ZkConfig {
                    version: 0x1_0000_0000,
                    voters: bootstrap,
                });
            }
            None => self.violation(format!(
                "server {id} started as a joiner ({ensemble:?}) with no ensemble"
            )),
            Some(cfg) => {
                let mut want: BTreeSet<u64> = cfg.voters.keys().copied().collect();
                want.insert(id);
                if ensemble != want {
                    self.violation(format!(
                        "server {id} started with ensemble {ensemble:?}, committed {want:?}: split ensemble"
                    ));
                }
            }
        }
    }

    /// Stops a container (it exits; nothing restarts it).
    fn stop(&mut self, host: &str, comp: Component) {
        self.check_stop(comp, host);
        let now = self.now;
        if let Some(c) = self
            .hosts
            .get_mut(host)
            .and_then(|h| h.containers.get_mut(&comp))
        {
            if c.state != ContainerState::Exited {
                c.finished_at = now;
            }
            c.state = ContainerState::Exited;
            c.restart_at = None;
        }
    }

    fn remove_volume(&mut self, host: &str, volume: &str) -> Result<(), OpFailed> {
        let cluster = self.name.clone();
        let h = self.reachable(host)?;
        if !h.volumes.contains(volume) {
            return Ok(());
        }
        let mounted_by = h
            .containers
            .keys()
            .find(|c| volume_name(&cluster, **c, host) == volume);
        if mounted_by.is_some() {
            return Err(OpFailed::VolumeInUse {
                host: host.to_string(),
                volume: volume.to_string(),
            });
        }
        let Some(h) = self.hosts.get_mut(host) else {
            return Ok(());
        };
        h.volumes.remove(volume);
        let mut deleted_voter = None;
        if volume == volume_name(&cluster, Component::Zookeeper, host) {
            let held = h.zk_volume_id.take();
            h.zk_initialized = false;
            deleted_voter = held.filter(|id| {
                self.zk
                    .as_ref()
                    .is_some_and(|cfg| cfg.voters.contains_key(id))
            });
        }
        if volume == volume_name(&cluster, Component::Masters, host) {
            h.master_log = None;
        }
        if let Some(id) = deleted_voter {
            self.violation(format!("data of voter {id} deleted on {host}"));
        }
        Ok(())
    }

    fn reconfig(
        &mut self,
        joining: Option<&str>,
        leaving: Option<u64>,
        expected_version: u64,
    ) -> Result<(), OpFailed> {
        if !self.zk_has_quorum() {
            return Err(OpFailed::ZkNoQuorum);
        }
        // `server.N=addr:peer:election:participant;0.0.0.0:client`
        let joiner: Option<(u64, String)> = joining
            .and_then(|j| j.strip_prefix("server."))
            .and_then(|j| j.split_once('='))
            .and_then(|(id, rest)| {
                let addr = rest.split(':').next().unwrap_or(rest);
                Some((id.parse().ok()?, addr.to_string()))
            });
        let Some(cfg) = self.zk.clone() else {
            return Err(OpFailed::ZkNoQuorum);
        };
        // The executor does not take an error at its word: a change already committed (this
        // very step, its reply lost) counts as done.
        let applied = joiner
            .as_ref()
            .is_none_or(|(id, _)| cfg.voters.contains_key(id))
            && leaving.is_none_or(|id| !cfg.voters.contains_key(&id));
        if applied {
            return Ok(());
        }
        if cfg.version != expected_version {
            return Err(OpFailed::VersionMismatch {
                expected: expected_version,
                found: cfg.version,
            });
        }
        let mut next = cfg.clone();
        if let Some((id, addr)) = &joiner {
            let host = self.host_at(addr).unwrap_or_else(|| addr.clone());
            let serving = self
                .container(Component::Zookeeper, &host)
                .is_some_and(|c| self.ready(c) && c.zk_id == Some(*id))
                && self.zk_serves_clients(&host);
            if !serving {
                return Err(OpFailed::JoinerNotServing { id: *id });
            }
            next.voters.insert(*id, host);
        }
        if let Some(id) = leaving {
            next.voters.remove(&id);
        }
        // The new config commits only with a quorum of its own voters acknowledging it (a
        // voter cut off from the others acknowledges nothing).
        let serving = self.zk_serving();
        let joiner_serves = |id: u64| joiner.as_ref().is_some_and(|(j, _)| *j == id);
        let acks = next
            .voters
            .keys()
            .filter(|id| serving.contains(id) || joiner_serves(**id))
            .count();
        if acks < majority(next.voters.len()) {
            return Err(OpFailed::ZkNoQuorum);
        }
        next.version += 1;
        if let Some(id) = leaving {
            self.zk_left.insert(id);
        }
        self.zk = Some(next);
        if self.zk_lag_secs > 0 {
            // A follower other than the leader lags behind the new config for a while.
            let lagging = self
                .zk
                .iter()
                .flat_map(|c| c.voters.values())
                .find(|h| Some(*h) != self.zk_leader.as_ref())
                .cloned();
            if let Some(h) = lagging {
                self.zk_lag = Some(ZkLag {
                    previous: cfg,
                    until: self.now + self.zk_lag_secs,
                    host: h,
                });
            }
        }
        Ok(())
    }

    /// Maintenance calls reach the leading master, with its registry recovered, when it is
    /// among the masters asked (a non-leader's redirect is not followed).
    fn leading_master_among(&self, masters: &[String]) -> Result<(), OpFailed> {
        let leader_asked = self.master_leader.as_ref().is_some_and(|l| {
            self.container_seen(Component::Masters, l).is_some()
                && masters.iter().any(|m| self.host_at(m).as_ref() == Some(l))
        });
        if leader_asked && self.master_quorum_ok() {
            Ok(())
        } else {
            Err(OpFailed::NoLeadingMaster {
                masters: masters.to_vec(),
            })
        }
    }

    /// The host a maintenance machine id names (its address), or the address itself.
    fn machine_host(&self, machine: &Machine) -> String {
        self.host_at(&machine.ip)
            .unwrap_or_else(|| machine.ip.clone())
    }

    /// Before a machine is taken down or up: the window the master shows for it must be
    /// the one the operator recorded.
    fn ensure_ours(&self, host: &str, window_start: Option<u64>) -> Result<(), OpFailed> {
        match (window_start, self.windows.get(host)) {
            (Some(mine), Some(seen)) if *seen != mine => Err(OpFailed::NotOurWindow {
                host: host.to_string(),
                seen: *seen,
                mine,
            }),
            _ => Ok(()),
        }
    }
}

fn label<T: std::str::FromStr>(labels: &BTreeMap<String, String>, key: &str) -> Option<T> {
    labels.get(key).and_then(|v| v.parse().ok())
}

/// An operation in words, for violations.
fn describe(op: &Op) -> String {
    match op {
        Op::Remove { name, .. } => format!("remove {name}"),
        Op::Create { spec, .. } => format!("create {}", spec.name),
        Op::RemoveVolume { volume, host } => format!("remove volume {volume} on {host}"),
        Op::ZkReconfig {
            joining, leaving, ..
        } => format!("reconfig (joining {joining:?}, leaving {leaving:?})"),
        other => other.kind().to_string(),
    }
}
