//! datadog (being written).
