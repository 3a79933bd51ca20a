//! The `neuro-deploy` command line and the wiring from config to adapters. Not yet implemented: this crate is a compiling skeleton until its issue lands.
