//! AWS adapters of neuro-deploy: `EcrRegistry` (Registry) and `SqsQueues` (QueueInspector). Not yet implemented: this crate is a compiling skeleton until its issue lands.
