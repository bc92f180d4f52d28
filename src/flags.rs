//! Value parsers shared by the CLI's and the runners' flags.
//!
//! Numbers that size an allocation (`-k`, batch sizes, fold counts…) are
//! bounded at parse time, so an absurd value is a usage error before anything
//! is recorded or allocated — never an abort deep inside a run.

use std::ops::RangeInclusive;

use clap::builder::TypedValueParser;

/// A count in `range`, as `usize`.
pub fn count_in(range: RangeInclusive<u64>) -> impl TypedValueParser<Value = usize> {
    clap::value_parser!(u64)
        .range(range)
        .map(|v| usize::try_from(v).expect("bounded well below usize::MAX"))
}
