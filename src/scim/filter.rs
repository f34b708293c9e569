//! SCIM filters (RFC 7644 §3.4.2.2): parser, canonical `Display`, and an evaluator over
//! `serde_json::Value`.

use crate::scim::path::AttrPath;
use serde_json::Value;

/// A comparison operator of RFC 7644 §3.4.2.2 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
    /// `ew`: ends with.
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `lt`: less than.
    Lt,
    /// `ge`: greater than or equal.
    Ge,
    /// `le`: less than or equal.
    Le,
}

/// A parsed SCIM filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`.
    Not(Box<Filter>),
    /// `attr op value`; the value is a JSON literal (string, number, boolean or null).
    Compare(AttrPath, CompareOp, Value),
    /// `attr pr`.
    Present(AttrPath),
    /// `attr[filter]`, optionally followed by `.sub op value` outside the brackets is not RFC
    /// grammar; a value path here is `emails[type eq "work" and value co "@x"]`.
    ValuePath(AttrPath, Box<Filter>),
}
