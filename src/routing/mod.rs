//! Alertmanager-compatible routing: configuration, route tree, grouping,
//! inhibition, silences and time intervals.
