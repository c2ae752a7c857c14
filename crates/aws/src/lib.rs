//! aws (being built; see the open issue).
