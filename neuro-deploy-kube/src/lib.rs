//! Kubernetes adapter of neuro-deploy: `KubeCluster` (ClusterDeployer). Not yet implemented: this crate is a compiling skeleton until its issue lands.
