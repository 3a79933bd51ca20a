//! KubeCluster against kube-sim (in process), and the same scenarios against a real cluster
//! when `NEURO_DEPLOY_E2E_KUBECONFIG` is set (`cargo test -p neuro-deploy-kube -- --ignored`).

#![allow(clippy::unwrap_used, missing_docs)]

mod e2e;
mod scenarios;
mod sim;
