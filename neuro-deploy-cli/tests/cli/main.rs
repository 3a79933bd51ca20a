//! End to end through the real `neuro-deploy` and `neuro-deploy-codefresh` binaries against
//! moto, kube-sim and a wiremock GitHub (see world.rs). Run with `scripts/test`.

#![allow(clippy::unwrap_used, missing_docs)]

mod actions;
mod approvals;
mod changes;
mod clusters;
mod codefresh;
mod dashboard;
mod dist;
mod fencing;
mod files;
mod guardrails;
mod habits;
mod lifecycle;
mod newcomer;
mod operator;
mod pipelines;
mod playground;
mod record_verify;
mod safety;
mod separation;
mod shape;
mod signals;
mod snapshots;
mod tripwire;
mod world;
