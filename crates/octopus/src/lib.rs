//! octopus (being built; see the open issue).
