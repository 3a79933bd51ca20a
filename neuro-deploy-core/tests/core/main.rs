//! Integration tests of neuro-deploy-core: the policy table, the executor against `mockall`
//! doubles of the five traits (tokio paused time for waits), and property tests.

// Tests: `expect` on known-good fixtures reads better than plumbing errors.
#![allow(clippy::unwrap_used, missing_docs)]

mod approvals;
mod executor;
mod policy;
mod props;
mod soak;
mod support;
mod windows;
