//! GitHub adapter of neuro-deploy: `GithubReleases` (ReleaseSource). Not yet implemented: this crate is a compiling skeleton until its issue lands.
