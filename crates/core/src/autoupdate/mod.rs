//! Automated version bumps: which tag a component may move to, and the state machine that
//! moves it (canary, soak, the rest, rollback and denylist), respecting a person's edits.
//!
//! Pure like the planner: the runtime scans the registry, stores [`state`] in etcd and
//! writes the spec; everything that decides is here and tested without IO.
//!
//! - [`version`], [`range`], [`tags`]: how tags are read and ordered;
//! - [`policy`]: a component's `autoUpdate` policy, compiled;
//! - [`select`]: each tag's verdict and the one to roll;
//! - [`canary`]: what must hold while a canary soaks;
//! - [`decide`]: the step of the state machine for one reconcile.

pub mod canary;
pub mod decide;
pub mod policy;
pub mod range;
pub mod select;
pub mod state;
pub mod tags;
pub mod version;

pub use decide::{decide, AutoEvent, AutoUpdateReport, EventKind, Inputs, Outcome};
pub use policy::Policy;
pub use state::{AutoUpdateState, ComponentUpdates};
