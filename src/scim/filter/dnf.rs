//! A filter as alternatives: `and` distributed over `or`, so that a backend that can only AND
//! its searches can answer an `or` as a union of searches (one per alternative).
//!
//! `not (…)` and value filters (`emails[…]`) stay whole: they are single conditions here.

use super::Filter;

/// Why a filter was not split: it has more alternatives than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyAlternatives {
    /// At least this many alternatives (counting stops past the limit).
    pub at_least: usize,
    /// The limit.
    pub max: usize,
}

impl Filter {
    /// The filter's alternatives, each a list of conditions that must all hold: `a and (b or
    /// c)` is `[[a, b], [a, c]]`. A filter without `or` is one alternative. More than `max`
    /// alternatives is an error (the count grows multiplicatively with `and`).
    pub fn alternatives(&self, max: usize) -> Result<Vec<Vec<Self>>, TooManyAlternatives> {
        let too_many = |at_least| TooManyAlternatives { at_least, max };
        match self {
            Self::Or(a, b) => {
                let mut left = a.alternatives(max)?;
                let right = b.alternatives(max)?;
                if left.len() + right.len() > max {
                    return Err(too_many(left.len() + right.len()));
                }
                left.extend(right);
                Ok(left)
            }
            Self::And(a, b) => {
                let left = a.alternatives(max)?;
                let right = b.alternatives(max)?;
                let count = left.len().saturating_mul(right.len());
                if count > max {
                    return Err(too_many(count));
                }
                let mut out = Vec::with_capacity(count);
                for l in &left {
                    for r in &right {
                        out.push(l.iter().chain(r).cloned().collect());
                    }
                }
                Ok(out)
            }
            other => Ok(vec![vec![other.clone()]]),
        }
    }

    /// The conditions joined with `and` (`None` for none).
    pub fn all_of(conditions: &[Self]) -> Option<Self> {
        let (first, rest) = conditions.split_first()?;
        Some(rest.iter().fold(first.clone(), |acc, next| {
            Self::And(Box::new(acc), Box::new(next.clone()))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Filter {
        Filter::parse(text, &[]).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn shown(alternatives: &[Vec<Filter>]) -> Vec<String> {
        alternatives
            .iter()
            .map(|conds| {
                Filter::all_of(conds)
                    .map(|f| f.to_string())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn and_distributes_over_or() {
        let f = parse(
            "name.familyName eq \"E\" and (emails.value co \"example.com\" or emails.value co \"example.org\")",
        );
        let alts = f.alternatives(8).unwrap_or_default();
        assert_eq!(
            shown(&alts),
            vec![
                "name.familyName eq \"E\" and emails.value co \"example.com\"",
                "name.familyName eq \"E\" and emails.value co \"example.org\"",
            ]
        );
        let f = parse("(a eq 1 or b eq 2) and (c eq 3 or d eq 4)");
        assert_eq!(f.alternatives(8).map(|a| a.len()), Ok(4));
    }

    #[test]
    fn without_or_it_is_one_alternative_and_not_and_value_filters_stay_whole() {
        let f =
            parse("a eq 1 and not (b eq 2 or c eq 3) and emails[type eq \"w\" or value co \"x\"]");
        let alts = f.alternatives(8).unwrap_or_default();
        assert_eq!(alts.len(), 1);
        assert_eq!(alts[0].len(), 3);
        assert!(matches!(alts[0][1], Filter::Not(_)));
        assert!(matches!(alts[0][2], Filter::ValuePath(..)));
    }

    #[test]
    fn more_than_max_alternatives_is_refused() {
        let f = parse("(a eq 1 or b eq 2 or c eq 3) and (d eq 1 or e eq 2 or f eq 3)");
        assert_eq!(
            f.alternatives(8),
            Err(TooManyAlternatives {
                at_least: 9,
                max: 8
            })
        );
        assert_eq!(f.alternatives(9).map(|a| a.len()), Ok(9));
        let long = (0..20)
            .map(|i| format!("a eq {i}"))
            .collect::<Vec<_>>()
            .join(" or ");
        assert!(parse(&long).alternatives(8).is_err());
    }
}
