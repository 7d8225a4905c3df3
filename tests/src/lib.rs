//! Spec runner.
