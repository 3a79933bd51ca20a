//! # neuro-deploy-testkit
//!
//! Test support for neuro-deploy, not published: [`env`](mod@env) finds the test servers and tools that
//! `scripts/test` installs and starts (moto, the official kubectl), and fails loudly with the fix
//! when they are missing — tests never skip; [`browser`] drives headless Chromium over WebDriver.
//!
//! What it is not: the simulated Kubernetes API server the tests run against is a product
//! component now and lives in `neuro-deploy-sim` (`neuro_deploy_sim::kube`).

pub mod browser;
pub mod env;
pub mod monitoring;
