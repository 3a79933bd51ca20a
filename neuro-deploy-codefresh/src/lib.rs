//! Codefresh adapter of neuro-deploy: pipeline environment → event, cf_export, `CodefreshBuilder`. Not yet implemented: this crate is a compiling skeleton until its issue lands.
