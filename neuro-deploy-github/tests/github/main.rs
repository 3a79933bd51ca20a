//! GithubReleases against wiremock servers answering with GitHub REST response shapes
//! (fixtures in tests/resources), split by topic. A catch-all registered last answers 418
//! naming the request, so an unexpected call fails readably.

// Tests: `unwrap` on known-good fixtures reads better than plumbing errors.
#![allow(clippy::unwrap_used, missing_docs)]

mod deployments;
mod hotfix;
mod rate_limit;
mod releases;
mod resolve;
mod support;
