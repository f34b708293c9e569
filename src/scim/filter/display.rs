//! The canonical text form of a filter: lower-case keywords, JSON literals, and only the
//! parentheses the AST needs (`not` > `and` > `or`, left-associative), so that
//! `Filter::parse(&f.to_string()) == f`.

use super::{CompareOp, Filter};
use std::fmt;

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Lt => "lt",
            Self::Ge => "ge",
            Self::Le => "le",
        })
    }
}

/// Binding strength: `or` 1, `and` 2, everything else (atoms, `not (…)`, value paths) 3.
fn precedence(filter: &Filter) -> u8 {
    match filter {
        Filter::Or(..) => 1,
        Filter::And(..) => 2,
        _ => 3,
    }
}

/// Writes an operand of a binary operator with precedence `parent`; a right operand of equal
/// precedence needs parentheses because the parser associates to the left.
fn operand(f: &mut fmt::Formatter<'_>, child: &Filter, parent: u8, right: bool) -> fmt::Result {
    let own = precedence(child);
    if own < parent || (right && own == parent) {
        write!(f, "({child})")
    } else {
        write!(f, "{child}")
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Or(a, b) => {
                operand(f, a, 1, false)?;
                f.write_str(" or ")?;
                operand(f, b, 1, true)
            }
            Self::And(a, b) => {
                operand(f, a, 2, false)?;
                f.write_str(" and ")?;
                operand(f, b, 2, true)
            }
            Self::Not(inner) => write!(f, "not ({inner})"),
            Self::Compare(path, op, value) => write!(f, "{path} {op} {value}"),
            Self::Present(path) => write!(f, "{path} pr"),
            Self::ValuePath(path, inner) => write!(f, "{path}[{inner}]"),
        }
    }
}
