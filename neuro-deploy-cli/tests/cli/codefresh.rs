//! Filled by the Codefresh tests.
