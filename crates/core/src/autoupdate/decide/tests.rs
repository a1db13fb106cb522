use super::*;
use crate::autoupdate::state::AutoUpdateState;
use crate::autoupdate::state::SeenTag;
use crate::spec::AutoUpdatePolicy;

const OLD: &str = "reg:5000/mesos-master:1.11.0";
const NEW: &str = "reg:5000/mesos-master:1.11.1";

fn policy(mode: AutoUpdateMode) -> Policy {
    Policy::compile(&AutoUpdatePolicy {
        mode,
        canary_soak: "60s".into(),
        ..Default::default()
    })
    .unwrap()
}

fn with_tags(tags: &[&str]) -> ComponentUpdates {
    ComponentUpdates {
        seen: tags
            .iter()
            .map(|t| {
                (
                    t.to_string(),
                    SeenTag {
                        first_seen: 0,
                        digest: Some(format!("sha256:{}", "a".repeat(64))),
                    },
                )
            })
            .collect(),
        last_scan: Some(1),
        ..Default::default()
    }
}

struct World {
    policy: Policy,
    image: String,
    generation: u64,
    state: ComponentUpdates,
    ready: u32,
    failed: Option<String>,
    checks: Result<(), String>,
    ceiling: Option<String>,
    now: u64,
}

impl World {
    fn new(mode: AutoUpdateMode, tags: &[&str]) -> World {
        World {
            policy: policy(mode),
            image: OLD.into(),
            generation: 5,
            state: with_tags(tags),
            ready: 3,
            failed: None,
            checks: Ok(()),
            ceiling: None,
            now: 1000,
        }
    }

    /// One reconcile: decide, store the state, make the spec write (it always lands, and
    /// the loop marks it landed).
    fn tick(&mut self) -> Outcome {
        let out = self.decide();
        self.state = out.state.clone();
        if let Some(img) = &out.write_image {
            self.image = img.clone();
            self.generation += 1;
            self.state.landed(img);
        }
        out
    }

    /// The decision alone, nothing stored or written.
    fn decide(&self) -> Outcome {
        decide(&Inputs {
            component: Component::Masters,
            policy: &self.policy,
            spec_image: &self.image,
            generation: self.generation,
            state: &self.state,
            failed: self.failed.clone(),
            ready: self.ready,
            desired: 3,
            checks: self.checks.clone(),
            registered_agents: 3,
            may_start: true,
            ceiling: self.ceiling.as_deref(),
            now: self.now,
        })
    }

    fn kinds(out: &Outcome) -> Vec<EventKind> {
        out.events.iter().map(|e| e.kind).collect()
    }
}

#[test]
fn auto_rolls_a_canary_soaks_it_then_the_rest_and_finishes() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    let out = w.tick();
    assert_eq!(World::kinds(&out), vec![EventKind::CanaryStarted]);
    assert_eq!(w.image, NEW);
    assert_eq!(w.state.canary_phase(), Some(RolloutPhase::Canary));
    // The write landed: known, not a person's edit.
    w.ready = 0;
    let out = w.tick();
    assert!(out.events.is_empty(), "{:?}", out.events);
    assert_eq!(w.state.known_image.as_deref(), Some(NEW));
    assert!(w.state.pinned.is_none());
    // The canary turns healthy and soaks.
    w.ready = 1;
    w.tick();
    w.now += 59;
    w.tick();
    assert_eq!(w.state.canary_phase(), Some(RolloutPhase::Canary));
    w.now += 1;
    let out = w.tick();
    assert_eq!(World::kinds(&out), vec![EventKind::CanaryPassed]);
    assert_eq!(w.state.canary_phase(), Some(RolloutPhase::Rolling));
    w.ready = 3;
    let out = w.tick();
    assert_eq!(World::kinds(&out), vec![EventKind::RolledOut]);
    assert_eq!(w.state.last_good.as_deref(), Some(NEW));
    assert!(w.state.rollout.is_none());
    // Nothing newer: nothing more.
    let out = w.tick();
    assert!(out.write_image.is_none() && out.events.is_empty());
}

#[test]
fn a_failing_canary_is_rolled_back_and_its_tag_never_tried_again() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    w.tick();
    w.ready = 0;
    w.tick();
    w.failed = Some("the master on h1 is not healthy 300s after its container started".into());
    let out = w.tick();
    assert_eq!(World::kinds(&out), vec![EventKind::RolledBack]);
    assert_eq!(w.image, OLD);
    assert!(w.state.denied.contains_key("1.11.1"));
    w.failed = None;
    w.ready = 3;
    for _ in 0..3 {
        let out = w.tick();
        assert!(out.write_image.is_none(), "{:?}", out.report);
        w.now += 3600;
    }
    assert!(
        w.state.pinned.is_none(),
        "the rollback is not a person's edit"
    );
    assert_eq!(w.image, OLD);
}

#[test]
fn a_canary_check_failing_past_its_grace_rolls_back() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    w.tick();
    w.ready = 1;
    w.tick();
    w.checks = Err("registered agents dropped from 3 to 1 during the canary".into());
    let out = w.tick();
    assert!(out.events.is_empty(), "within the grace: {:?}", out.events);
    assert!(
        out.report.state.contains("failing its checks"),
        "{}",
        out.report.state
    );
    w.now += 30;
    let out = w.tick();
    assert_eq!(World::kinds(&out), vec![EventKind::RolledBack]);
    assert!(w.state.denied["1.11.1"].reason.contains("agents dropped"));
}

#[test]
fn a_check_that_recovers_within_its_grace_neither_fails_nor_counts_as_soak() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    w.tick();
    w.ready = 1;
    w.tick(); // healthy since 1000
    w.checks = Err("registered agents dropped from 3 to 2 during the canary".into());
    w.now += 20;
    let out = w.tick();
    assert!(out.events.is_empty());
    // Agents re-registered at 1025: the failure is forgotten, and the soak starts again.
    w.checks = Ok(());
    w.now += 5;
    w.tick();
    assert!(w
        .state
        .rollout
        .as_ref()
        .is_some_and(|r| r.failing_since.is_none()));
    w.now += 40; // 1065: 65 s since first healthy, but only 40 s unbroken
    let out = w.tick();
    assert!(out.events.is_empty(), "{:?}", out.events);
    w.now += 20; // 1085: 60 s unbroken
    let out = w.tick();
    assert_eq!(World::kinds(&out), vec![EventKind::CanaryPassed]);
    assert!(w.state.denied.is_empty());
}

#[test]
fn a_person_s_edit_pins_the_component_and_is_never_overwritten() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1", "1.11.2"]);
    w.tick(); // baseline + canary of 1.11.2
    assert!(w.image.ends_with("1.11.2"));
    // A person rolls back by hand.
    w.image = OLD.into();
    w.generation += 1;
    let out = w.tick();
    assert_eq!(World::kinds(&out), vec![EventKind::Pinned]);
    assert!(w.state.rollout.is_none());
    for _ in 0..3 {
        w.now += 3600;
        let out = w.tick();
        assert!(out.write_image.is_none());
        assert!(out.report.state.starts_with("pinned"));
    }
    assert_eq!(w.image, OLD);
}

#[test]
fn a_person_s_edit_between_plan_and_write_wins() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    // The automation records its write, but a person's edit lands first (the CAS fails).
    let out = w.decide();
    assert_eq!(out.write_image.as_deref(), Some(NEW));
    w.state = out.state;
    w.image = "reg:5000/mesos-master:1.10.0".into();
    w.generation += 1;
    let out = w.tick();
    assert_eq!(World::kinds(&out), vec![EventKind::Pinned]);
    assert!(out.write_image.is_none());
    assert!(w.state.rollout.is_none());
    assert_eq!(w.image, "reg:5000/mesos-master:1.10.0");
}

#[test]
fn a_crash_between_recording_and_writing_retries_the_write() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    // Recorded, then the process died before the spec write.
    let out = w.decide();
    w.state = out.state;
    assert!(w.state.pending.is_some());
    let out = w.tick();
    assert_eq!(out.write_image.as_deref(), Some(NEW));
    assert!(out.events.is_empty());
    assert!(w.state.pinned.is_none());
}

#[test]
fn a_crash_between_writing_and_marking_it_landed_is_no_pin() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    let out = w.decide();
    w.state = out.state;
    w.image = NEW.into();
    w.generation += 1;
    let out = w.tick();
    assert!(out.events.is_empty(), "{:?}", out.events);
    assert!(w.state.pinned.is_none());
    assert_eq!(w.state.known_image.as_deref(), Some(NEW));
    assert_eq!(w.state.canary_phase(), Some(RolloutPhase::Canary));
}

#[test]
fn an_edit_of_another_field_in_between_is_no_pin_and_the_bump_is_replanned() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    let out = w.decide();
    assert!(out.write_image.is_some());
    w.state = out.state;
    // The CAS failed: someone changed another field (a new generation, same image).
    w.generation += 1;
    let out = w.decide();
    assert!(out.state.pinned.is_none());
    assert_eq!(out.write_image.as_deref(), Some(NEW));
    assert_eq!(
        out.state.pending.as_ref().map(|p| p.from_generation),
        Some(6)
    );
}

#[test]
fn a_rollback_overtaken_by_another_field_s_edit_is_written_again() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    w.tick();
    w.ready = 0;
    w.failed = Some("health timeout".into());
    let out = w.decide();
    assert_eq!(out.write_image.as_deref(), Some(OLD));
    w.state = out.state;
    w.generation += 1; // someone else's write got in; the image is still NEW
    let out = w.decide();
    assert_eq!(out.write_image.as_deref(), Some(OLD));
    assert!(out.state.pinned.is_none());
}

#[test]
fn notify_reports_once_and_never_writes() {
    let mut w = World::new(AutoUpdateMode::Notify, &["1.11.0", "1.11.1"]);
    let out = w.tick();
    assert_eq!(World::kinds(&out), vec![EventKind::Candidate]);
    assert!(out.write_image.is_none());
    let out = w.tick();
    assert!(out.events.is_empty());
    assert!(out.report.state.contains("1.11.1"));
    assert_eq!(w.image, OLD);
}

#[test]
fn digest_pinning_writes_the_digest_it_read() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    w.policy.pin_digest = true;
    w.tick();
    assert_eq!(w.image, format!("{NEW}@sha256:{}", "a".repeat(64)));
}

#[test]
fn off_does_nothing_but_take_note_of_the_image() {
    let mut w = World::new(AutoUpdateMode::Off, &["1.11.0", "1.11.1"]);
    let before = w.state.clone();
    let out = w.tick();
    assert!(out.write_image.is_none() && out.events.is_empty());
    // The image in the spec is noted, so that turning `auto` on later does not read a
    // change made meanwhile as a person's edit of the automation's work.
    let noted = ComponentUpdates {
        known_image: Some(OLD.into()),
        ..before
    };
    assert_eq!(w.state, noted);
    w.image = NEW.into();
    w.generation += 1;
    w.tick();
    w.policy = policy(AutoUpdateMode::Auto);
    let out = w.tick();
    assert!(
        !World::kinds(&out).contains(&EventKind::Pinned),
        "{:?}",
        out.events
    );
}

#[test]
fn switching_the_policy_off_mid_canary_keeps_the_canary_alone_until_a_person_acts() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    w.tick();
    w.ready = 1;
    w.tick();
    assert_eq!(w.state.canary_phase(), Some(RolloutPhase::Canary));
    for mode in [AutoUpdateMode::Off, AutoUpdateMode::Notify] {
        let mut x = World::new(mode, &[]);
        x.state = w.state.clone();
        x.image = w.image.clone();
        x.generation = w.generation;
        x.ready = 1;
        x.now = w.now + 3600;
        let out = x.tick();
        assert!(out.write_image.is_none(), "{mode:?}: nothing written");
        assert_eq!(
            x.state.canary_phase(),
            Some(RolloutPhase::Canary),
            "{mode:?}: not promoted"
        );
        assert!(
            out.report.state.contains("stays alone"),
            "{}",
            out.report.state
        );
        // Held while the component has a policy, whatever its mode.
        let all = AutoUpdateState {
            components: [(Component::Masters, x.state.clone())].into(),
        };
        assert_eq!(
            all.canary_hold(|_| true).map(|h| h.component),
            Some(Component::Masters)
        );
        assert_eq!(
            all.canary_hold(|_| false),
            None,
            "a removed policy releases it"
        );
        // A person's bump ends it, and pins nothing outside auto.
        x.image = OLD.into();
        x.generation += 1;
        let out = x.tick();
        assert!(x.state.rollout.is_none(), "{mode:?}");
        assert!(x.state.pinned.is_none(), "{mode:?}");
        assert!(!World::kinds(&out).contains(&EventKind::Pinned));
    }
}

#[test]
fn a_pending_rollback_is_finished_even_after_the_policy_is_switched_off() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1"]);
    w.tick();
    w.failed = Some("health timeout".into());
    let out = w.decide();
    assert_eq!(out.write_image.as_deref(), Some(OLD));
    // The rollback's write lost to the person's `mode: off` apply (another field).
    w.state = out.state;
    w.generation += 1;
    w.policy = policy(AutoUpdateMode::Off);
    let out = w.decide();
    assert_eq!(
        out.write_image.as_deref(),
        Some(OLD),
        "the rollback is written again"
    );
}

#[test]
fn in_notify_mode_a_person_s_bump_is_followed_not_pinned_and_newer_tags_are_reported() {
    let mut w = World::new(AutoUpdateMode::Notify, &["1.11.0", "1.11.1"]);
    let out = w.tick();
    assert_eq!(World::kinds(&out), vec![EventKind::Candidate]);
    // The person does what the notice says.
    w.image = NEW.into();
    w.generation += 1;
    let out = w.tick();
    assert!(out.events.is_empty(), "{:?}", out.events);
    assert!(w.state.pinned.is_none());
    // A newer tag is reported again.
    w.state.seen.insert(
        "1.11.2".into(),
        SeenTag {
            first_seen: 0,
            digest: None,
        },
    );
    let out = w.tick();
    assert_eq!(World::kinds(&out), vec![EventKind::Candidate]);
    assert!(out.events[0].tag == "1.11.2");
}

#[test]
fn agents_never_go_past_the_masters() {
    let mut w = World::new(AutoUpdateMode::Auto, &["1.11.0", "1.11.1", "1.12.0"]);
    w.ceiling = Some("1.11.1".into());
    let out = w.tick();
    assert!(
        w.image.ends_with(":1.11.1"),
        "the newest the masters run: {}",
        w.image
    );
    assert_eq!(World::kinds(&out), vec![EventKind::CanaryStarted]);
    // Rolled out; 1.12.0 waits for the masters.
    w.ready = 3;
    for _ in 0..4 {
        w.now += 60;
        w.tick();
    }
    assert!(w.state.rollout.is_none());
    let out = w.tick();
    assert!(out.write_image.is_none());
    assert!(
        out.report.state.contains("waits for the masters"),
        "{}",
        out.report.state
    );
    w.ceiling = Some("1.12.0".into());
    w.tick();
    assert!(w.image.ends_with(":1.12.0"));
}
