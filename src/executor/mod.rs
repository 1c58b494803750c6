//! The background worker that runs stored executions (being written): claims work with
//! a lease, heartbeats it, runs `/canary` judgements and standalone analyses, completes
//! them exactly once.
