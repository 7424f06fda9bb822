//! Parser for the PromQL test-script notation (`load` blocks, series
//! descriptions such as `0+10x5 _ stale`, expected results), shared by the
//! conformance runner, `alertgate test` input series and snapshot files.
