//! # neuro-deploy-testkit
//!
//! Test support for neuro-deploy, not published: [`kube_sim`], a small Kubernetes API server
//! with a simulated deployment controller, request counting and fault injection (usable
//! in-process and as the `kube-sim` binary), plus helpers to find the test servers that
//! `scripts/test` starts. It is not a conformance-grade API server: it serves what
//! neuro-deploy and `kubectl get/set image/rollout status` use, and the kubectl fidelity test
//! says exactly how far that goes.

pub mod env;
pub mod fixtures;
pub mod kube_sim;
