//! Maps a request path to one of the demo API's routes and its template (the name calls are
//! counted and faults are matched under), and says which methods each route allows.
//!
//! Pure: no state, no bodies. Non-numeric ids still match their route (`id: None`) so that they
//! answer 404 "not found" rather than "no such route", as the users API documents.

/// The path prefix every API route shares.
pub(crate) const API_PREFIX: &str = "/api/v1/";

/// One API route with the ids its path carries (`None` when a segment is not a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/api/v1/users`
    Users,
    /// `/api/v1/users/{id}`
    User(Option<u64>),
    /// `/api/v1/teams`
    Teams,
    /// `/api/v1/teams/{id}`
    Team(Option<u64>),
    /// `/api/v1/teams/{id}/members`
    Members(Option<u64>),
    /// `/api/v1/teams/{id}/members/{user_id}`
    Member(Option<u64>, Option<u64>),
}

impl Route {
    /// Finds the route for `path`, or `None` when no route has this shape.
    pub(crate) fn resolve(path: &str) -> Option<Self> {
        let rest = path.strip_prefix(API_PREFIX)?;
        let segments: Vec<&str> = rest.split('/').collect();
        if segments.iter().any(|s| s.is_empty()) {
            return None;
        }
        let id = |segment: &str| segment.parse::<u64>().ok();
        Some(match segments.as_slice() {
            ["users"] => Self::Users,
            ["users", user] => Self::User(id(user)),
            ["teams"] => Self::Teams,
            ["teams", team] => Self::Team(id(team)),
            ["teams", team, "members"] => Self::Members(id(team)),
            ["teams", team, "members", user] => Self::Member(id(team), id(user)),
            _ => return None,
        })
    }

    /// The route's path template, as used in call counts and fault filters.
    pub(crate) fn template(self) -> &'static str {
        match self {
            Self::Users => "/api/v1/users",
            Self::User(_) => "/api/v1/users/{id}",
            Self::Teams => "/api/v1/teams",
            Self::Team(_) => "/api/v1/teams/{id}",
            Self::Members(_) => "/api/v1/teams/{id}/members",
            Self::Member(..) => "/api/v1/teams/{id}/members/{user_id}",
        }
    }

    /// The methods this route answers; anything else is 405.
    pub(crate) fn methods(self) -> &'static [&'static str] {
        match self {
            Self::Users | Self::Teams | Self::Members(_) => &["GET", "POST"],
            Self::User(_) | Self::Team(_) => &["GET", "PUT", "PATCH", "DELETE"],
            Self::Member(..) => &["DELETE"],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_every_route_with_its_ids() {
        let cases = [
            ("/api/v1/users", Some(Route::Users)),
            ("/api/v1/users/17", Some(Route::User(Some(17)))),
            ("/api/v1/users/abc", Some(Route::User(None))),
            ("/api/v1/teams", Some(Route::Teams)),
            ("/api/v1/teams/3", Some(Route::Team(Some(3)))),
            ("/api/v1/teams/3/members", Some(Route::Members(Some(3)))),
            (
                "/api/v1/teams/3/members/5",
                Some(Route::Member(Some(3), Some(5))),
            ),
            ("/api/v1/users/", None),
            ("/api/v1/users/1/extra", None),
            ("/api/v1/groups", None),
            ("/api/v2/users", None),
            ("/", None),
        ];
        for (path, route) in cases {
            assert_eq!(Route::resolve(path), route, "{path}");
        }
    }

    #[test]
    fn templates_name_the_id_segments() {
        assert_eq!(
            Route::Member(Some(1), None).template(),
            "/api/v1/teams/{id}/members/{user_id}"
        );
        assert!(Route::User(None).methods().contains(&"PATCH"));
        assert!(!Route::Users.methods().contains(&"DELETE"));
    }
}
