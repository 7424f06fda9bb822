//! The subset of Go text/template that Prometheus rule labels and
//! annotations use (`{{ $labels.x }}`, `{{ $value | humanize }}`, ...).
