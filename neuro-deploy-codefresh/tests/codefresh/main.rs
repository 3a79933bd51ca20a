//! neuro-deploy-codefresh: environment mapping, cf_export, CodefreshBuilder against a wiremock
//! server shaped like the Codefresh API. (The example pipelines are checked by neuro-deploy-cli's
//! tests, which know every command the binaries accept.)

#![allow(clippy::unwrap_used, missing_docs)]

mod builder;
mod env;
