//! Test support for neuro-deploy (not published): a fake Kubernetes API server and fixtures. Not yet implemented: this crate is a compiling skeleton until its issue lands.
