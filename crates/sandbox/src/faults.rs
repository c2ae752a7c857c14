//! Latency and failure injection per service and operation (being built).
