//! neuro-deploy-aws against a real moto server (SQS in two regions, ECR) and, for faults,
//! local HTTP servers that throttle, fail or hang. Run through `scripts/test`, which starts
//! moto on 127.0.0.1 and sets fake credentials; nothing here leaves loopback.

#![allow(clippy::unwrap_used, missing_docs)]

mod ecr;
mod executor;
mod faults;
mod iam;
mod sqs;
mod support;
