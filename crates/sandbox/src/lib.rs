//! sandbox (being built; see the open issue).
