//! azure (being built; see the open issue).
