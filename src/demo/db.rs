//! The demo API's in-memory database: users and teams with the indexes that keep every lookup the
//! gateway makes cheap at 100,000 users (email → id, team name → id, status sets, manager → reports,
//! user → teams), and the cross-record rules (unique emails and team names, existing managers and
//! members).
//!
//! No locking and no HTTP here: the server holds a `Db` behind a lock and turns its answers and
//! errors into responses.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::error::Error;
use super::model::{Status, Team, TeamFields, User, UserFields, now};

/// One page of a listing: the records in id order and how many match in total.
#[derive(Debug)]
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) total: usize,
}

/// Users and teams, with their indexes kept in step by every write.
#[derive(Debug)]
pub(crate) struct Db {
    users: BTreeMap<u64, User>,
    next_user_id: u64,
    /// Lowercased email → user id.
    emails: HashMap<String, u64>,
    active: BTreeSet<u64>,
    disabled: BTreeSet<u64>,
    /// Manager id → ids of the users whose `manager_id` names it.
    reports: HashMap<u64, BTreeSet<u64>>,
    /// User id → ids of the teams it belongs to.
    user_teams: HashMap<u64, BTreeSet<u64>>,
    teams: BTreeMap<u64, Team>,
    next_team_id: u64,
    /// Lowercased team name → team id.
    team_names: HashMap<String, u64>,
    /// The next `n` tried for a seeded `user{n}@example.com`.
    next_seed: u64,
}

impl Default for Db {
    fn default() -> Self {
        Self {
            users: BTreeMap::new(),
            next_user_id: 1,
            emails: HashMap::new(),
            active: BTreeSet::new(),
            disabled: BTreeSet::new(),
            reports: HashMap::new(),
            user_teams: HashMap::new(),
            teams: BTreeMap::new(),
            next_team_id: 1,
            team_names: HashMap::new(),
            next_seed: 1,
        }
    }
}

fn page_of<'a, T: 'a>(
    iter: impl Iterator<Item = T>,
    total: usize,
    offset: usize,
    limit: usize,
) -> Page<T> {
    Page {
        items: iter.skip(offset).take(limit).collect(),
        total,
    }
}

impl Db {
    // ----- users -----

    /// One user by id.
    pub(crate) fn user(&self, id: u64) -> Option<&User> {
        self.users.get(&id)
    }

    /// How many users exist.
    pub(crate) fn user_count(&self) -> usize {
        self.users.len()
    }

    /// The id of the user with this email, ignoring case.
    pub(crate) fn user_id_by_email(&self, email: &str) -> Option<u64> {
        self.emails.get(&email.to_lowercase()).copied()
    }

    /// Users in id order, optionally only the one with `email` (any case) and/or one status.
    pub(crate) fn list_users(
        &self,
        email: Option<&str>,
        status: Option<Status>,
        offset: usize,
        limit: usize,
    ) -> Page<&User> {
        if let Some(email) = email {
            let found = self
                .user_id_by_email(email)
                .and_then(|id| self.users.get(&id))
                .filter(|user| status.is_none_or(|s| user.fields.status == s));
            return page_of(
                found.into_iter(),
                usize::from(found.is_some()),
                offset,
                limit,
            );
        }
        match status {
            None => page_of(self.users.values(), self.users.len(), offset, limit),
            Some(status) => {
                let ids = self.status_set(status);
                let users = ids.iter().filter_map(|id| self.users.get(id));
                page_of(users, ids.len(), offset, limit)
            }
        }
    }

    fn status_set(&self, status: Status) -> &BTreeSet<u64> {
        match status {
            Status::Active => &self.active,
            Status::Disabled => &self.disabled,
        }
    }

    fn status_set_mut(&mut self, status: Status) -> &mut BTreeSet<u64> {
        match status {
            Status::Active => &mut self.active,
            Status::Disabled => &mut self.disabled,
        }
    }

    /// Creates a user from a POST body.
    pub(crate) fn create_user(&mut self, body: &Map<String, Value>) -> Result<&User, Error> {
        let mut fields = UserFields::default();
        fields.apply(body)?;
        self.check_user(None, &fields)?;
        let id = self.next_user_id;
        self.next_user_id += 1;
        let at = now();
        self.index_user(id, &fields);
        let user = User {
            id,
            fields,
            created_at: at,
            updated_at: at,
        };
        Ok(self.users.entry(id).or_insert(user))
    }

    /// Replaces every writable field of a user (PUT): fields absent from `body` get defaults.
    pub(crate) fn replace_user(
        &mut self,
        id: u64,
        body: &Map<String, Value>,
    ) -> Result<&User, Error> {
        if !self.users.contains_key(&id) {
            return Err(Error::NotFound("user"));
        }
        let mut fields = UserFields::default();
        fields.apply(body)?;
        self.store_user(id, fields)
    }

    /// Changes only the writable fields present in `body` (PATCH).
    pub(crate) fn patch_user(
        &mut self,
        id: u64,
        body: &Map<String, Value>,
    ) -> Result<&User, Error> {
        let mut fields = self
            .users
            .get(&id)
            .ok_or(Error::NotFound("user"))?
            .fields
            .clone();
        fields.apply(body)?;
        self.store_user(id, fields)
    }

    /// Checks `fields` against the other records and writes them over user `id`.
    fn store_user(&mut self, id: u64, fields: UserFields) -> Result<&User, Error> {
        self.check_user(Some(id), &fields)?;
        let Some(old) = self.users.get(&id).map(|user| user.fields.clone()) else {
            return Err(Error::NotFound("user"));
        };
        self.unindex_user(id, &old);
        self.index_user(id, &fields);
        let user = self.users.get_mut(&id).ok_or(Error::NotFound("user"))?;
        if user.fields != fields {
            user.fields = fields;
            user.updated_at = now();
        }
        Ok(user)
    }

    /// The rules between a user's new fields and the rest: a valid email no other user has, and
    /// an existing manager.
    fn check_user(&self, id: Option<u64>, fields: &UserFields) -> Result<(), Error> {
        fields.validate()?;
        if let Some(owner) = self.user_id_by_email(&fields.email)
            && Some(owner) != id
        {
            return Err(Error::Conflict("email taken"));
        }
        if let Some(manager) = fields.manager_id
            && !self.users.contains_key(&manager)
        {
            return Err(Error::invalid(format!("unknown manager {manager}")));
        }
        Ok(())
    }

    fn index_user(&mut self, id: u64, fields: &UserFields) {
        self.emails.insert(fields.email.to_lowercase(), id);
        self.status_set_mut(fields.status).insert(id);
        if let Some(manager) = fields.manager_id {
            self.reports.entry(manager).or_default().insert(id);
        }
    }

    fn unindex_user(&mut self, id: u64, fields: &UserFields) {
        self.emails.remove(&fields.email.to_lowercase());
        self.status_set_mut(fields.status).remove(&id);
        if let Some(manager) = fields.manager_id
            && let Some(reports) = self.reports.get_mut(&manager)
        {
            reports.remove(&id);
            if reports.is_empty() {
                self.reports.remove(&manager);
            }
        }
    }

    /// Deletes a user, its team memberships, and clears `manager_id` on its reports.
    pub(crate) fn delete_user(&mut self, id: u64) -> Result<(), Error> {
        let user = self.users.remove(&id).ok_or(Error::NotFound("user"))?;
        self.unindex_user(id, &user.fields);
        let at = now();
        for team in self.user_teams.remove(&id).unwrap_or_default() {
            if let Some(team) = self.teams.get_mut(&team) {
                team.members.remove(&id);
                team.updated_at = at;
            }
        }
        for report in self.reports.remove(&id).unwrap_or_default() {
            if let Some(report) = self.users.get_mut(&report) {
                report.fields.manager_id = None;
                report.updated_at = at;
            }
        }
        Ok(())
    }

    /// Creates `count` users `user{n}@example.com` (skipping any `n` whose email is taken) without
    /// the per-request checks; returns how many were created.
    pub(crate) fn seed_users(&mut self, count: usize) -> usize {
        let at = now();
        let mut created = 0;
        while created < count {
            let n = self.next_seed;
            self.next_seed += 1;
            let email = format!("user{n}@example.com");
            if self.emails.contains_key(&email) {
                continue;
            }
            let id = self.next_user_id;
            self.next_user_id += 1;
            self.emails.insert(email.clone(), id);
            self.active.insert(id);
            let fields = UserFields {
                email,
                first_name: "User".to_owned(),
                last_name: n.to_string(),
                display_name: Some(format!("User {n}")),
                ..UserFields::default()
            };
            self.users.insert(
                id,
                User {
                    id,
                    fields,
                    created_at: at,
                    updated_at: at,
                },
            );
            created += 1;
        }
        created
    }

    // ----- teams -----

    /// One team by id.
    pub(crate) fn team(&self, id: u64) -> Option<&Team> {
        self.teams.get(&id)
    }

    /// How many teams exist.
    pub(crate) fn team_count(&self) -> usize {
        self.teams.len()
    }

    /// Teams in id order, optionally only the one named `name` (any case).
    pub(crate) fn list_teams(
        &self,
        name: Option<&str>,
        offset: usize,
        limit: usize,
    ) -> Page<&Team> {
        match name {
            Some(name) => {
                let found = self
                    .team_names
                    .get(&name.to_lowercase())
                    .and_then(|id| self.teams.get(id));
                page_of(
                    found.into_iter(),
                    usize::from(found.is_some()),
                    offset,
                    limit,
                )
            }
            None => page_of(self.teams.values(), self.teams.len(), offset, limit),
        }
    }

    /// Creates a team from a POST body.
    pub(crate) fn create_team(&mut self, body: &Map<String, Value>) -> Result<&Team, Error> {
        let mut fields = TeamFields::default();
        fields.apply(body)?;
        self.check_team(None, &fields)?;
        let id = self.next_team_id;
        self.next_team_id += 1;
        let at = now();
        self.team_names.insert(fields.name.to_lowercase(), id);
        let team = Team {
            id,
            fields,
            members: BTreeSet::new(),
            created_at: at,
            updated_at: at,
        };
        Ok(self.teams.entry(id).or_insert(team))
    }

    /// Replaces name and description (PUT).
    pub(crate) fn replace_team(
        &mut self,
        id: u64,
        body: &Map<String, Value>,
    ) -> Result<&Team, Error> {
        if !self.teams.contains_key(&id) {
            return Err(Error::NotFound("team"));
        }
        let mut fields = TeamFields::default();
        fields.apply(body)?;
        self.store_team(id, fields)
    }

    /// Changes only the fields present in `body` (PATCH).
    pub(crate) fn patch_team(
        &mut self,
        id: u64,
        body: &Map<String, Value>,
    ) -> Result<&Team, Error> {
        let mut fields = self
            .teams
            .get(&id)
            .ok_or(Error::NotFound("team"))?
            .fields
            .clone();
        fields.apply(body)?;
        self.store_team(id, fields)
    }

    fn store_team(&mut self, id: u64, fields: TeamFields) -> Result<&Team, Error> {
        self.check_team(Some(id), &fields)?;
        let team = self.teams.get_mut(&id).ok_or(Error::NotFound("team"))?;
        if team.fields != fields {
            self.team_names.remove(&team.fields.name.to_lowercase());
            self.team_names.insert(fields.name.to_lowercase(), id);
            team.fields = fields;
            team.updated_at = now();
        }
        Ok(team)
    }

    fn check_team(&self, id: Option<u64>, fields: &TeamFields) -> Result<(), Error> {
        fields.validate()?;
        match self.team_names.get(&fields.name.to_lowercase()) {
            Some(&owner) if Some(owner) != id => Err(Error::Conflict("team name taken")),
            _ => Ok(()),
        }
    }

    /// Deletes a team and its memberships.
    pub(crate) fn delete_team(&mut self, id: u64) -> Result<(), Error> {
        let team = self.teams.remove(&id).ok_or(Error::NotFound("team"))?;
        self.team_names.remove(&team.fields.name.to_lowercase());
        for user in team.members {
            if let Some(teams) = self.user_teams.get_mut(&user) {
                teams.remove(&id);
                if teams.is_empty() {
                    self.user_teams.remove(&user);
                }
            }
        }
        Ok(())
    }

    /// A team's member ids in order, or only `user_id` when given (empty if not a member).
    pub(crate) fn members(
        &self,
        team: u64,
        user_id: Option<u64>,
        offset: usize,
        limit: usize,
    ) -> Result<Page<u64>, Error> {
        let team = self.teams.get(&team).ok_or(Error::NotFound("team"))?;
        Ok(match user_id {
            Some(user) => {
                let found = team.members.get(&user).copied();
                page_of(
                    found.into_iter(),
                    usize::from(found.is_some()),
                    offset,
                    limit,
                )
            }
            None => page_of(
                team.members.iter().copied(),
                team.members.len(),
                offset,
                limit,
            ),
        })
    }

    /// Adds a member; adding an existing member changes nothing.
    pub(crate) fn add_member(&mut self, team: u64, user: u64) -> Result<(), Error> {
        if !self.teams.contains_key(&team) {
            return Err(Error::NotFound("team"));
        }
        if !self.users.contains_key(&user) {
            return Err(Error::UnknownUser(user));
        }
        let record = self.teams.get_mut(&team).ok_or(Error::NotFound("team"))?;
        if record.members.insert(user) {
            record.updated_at = now();
            self.user_teams.entry(user).or_default().insert(team);
        }
        Ok(())
    }

    /// Removes a member; removing a non-member changes nothing.
    pub(crate) fn remove_member(&mut self, team: u64, user: u64) -> Result<(), Error> {
        let record = self.teams.get_mut(&team).ok_or(Error::NotFound("team"))?;
        if record.members.remove(&user) {
            record.updated_at = now();
            if let Some(teams) = self.user_teams.get_mut(&user) {
                teams.remove(&team);
                if teams.is_empty() {
                    self.user_teams.remove(&user);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    fn create(db: &mut Db, body: Value) -> Result<u64, Error> {
        db.create_user(&obj(body)).map(|user| user.id)
    }

    #[test]
    fn email_index_follows_changes_and_ignores_case() -> Result<(), Error> {
        let mut db = Db::default();
        let id = create(&mut db, json!({"email": "Ann@Example.com"}))?;
        assert_eq!(db.user_id_by_email("ann@example.COM"), Some(id));
        assert_eq!(
            create(&mut db, json!({"email": "ANN@example.com"})),
            Err(Error::Conflict("email taken"))
        );
        db.patch_user(id, &obj(json!({"email": "ann.lee@example.com"})))?;
        assert_eq!(db.user_id_by_email("ann@example.com"), None);
        assert_eq!(db.user_id_by_email("ann.lee@example.com"), Some(id));
        // The old address is free again.
        let other = create(&mut db, json!({"email": "ann@example.com"}))?;
        assert_ne!(other, id);
        Ok(())
    }

    #[test]
    fn ids_are_never_reused() -> Result<(), Error> {
        let mut db = Db::default();
        let first = create(&mut db, json!({"email": "a@x.y"}))?;
        db.delete_user(first)?;
        let second = create(&mut db, json!({"email": "a@x.y"}))?;
        assert_eq!((first, second), (1, 2));
        Ok(())
    }

    #[test]
    fn status_filter_pages_over_the_status_index() -> Result<(), Error> {
        let mut db = Db::default();
        db.seed_users(10);
        for id in [2, 5, 9] {
            db.patch_user(id, &obj(json!({"status": "disabled"})))?;
        }
        let page = db.list_users(None, Some(Status::Disabled), 1, 1);
        assert_eq!(page.total, 3);
        assert_eq!(page.items.iter().map(|u| u.id).collect::<Vec<_>>(), vec![5]);
        assert_eq!(db.list_users(None, Some(Status::Active), 0, 50).total, 7);
        assert_eq!(
            db.list_users(Some("USER5@example.com"), Some(Status::Active), 0, 50)
                .total,
            0
        );
        assert_eq!(
            db.list_users(Some("user5@example.com"), None, 0, 50).total,
            1
        );
        Ok(())
    }

    #[test]
    fn deleting_a_manager_clears_it_on_reports_and_memberships_go() -> Result<(), Error> {
        let mut db = Db::default();
        let boss = create(&mut db, json!({"email": "boss@x.y"}))?;
        let report = create(&mut db, json!({"email": "r@x.y", "manager_id": boss}))?;
        assert_eq!(
            create(&mut db, json!({"email": "s@x.y", "manager_id": 99})),
            Err(Error::invalid("unknown manager 99"))
        );
        let team = db.create_team(&obj(json!({"name": "Sales"})))?.id;
        db.add_member(team, boss)?;
        db.add_member(team, report)?;
        db.delete_user(boss)?;
        assert_eq!(db.user(report).and_then(|u| u.fields.manager_id), None);
        assert_eq!(db.members(team, None, 0, 50)?.items, vec![report]);
        Ok(())
    }

    #[test]
    fn team_names_are_unique_ignoring_case_and_renames_move_the_index() -> Result<(), Error> {
        let mut db = Db::default();
        let sales = db.create_team(&obj(json!({"name": "Sales"})))?.id;
        assert_eq!(
            db.create_team(&obj(json!({"name": "SALES"}))).map(|t| t.id),
            Err(Error::Conflict("team name taken"))
        );
        db.patch_team(sales, &obj(json!({"name": "Revenue"})))?;
        assert_eq!(db.list_teams(Some("revenue"), 0, 50).total, 1);
        assert_eq!(db.list_teams(Some("sales"), 0, 50).total, 0);
        // Renaming to its own name in another case is not a conflict.
        db.patch_team(sales, &obj(json!({"name": "REVENUE"})))?;
        assert_eq!(
            db.team(sales).map(|t| t.fields.name.as_str()),
            Some("REVENUE")
        );
        Ok(())
    }

    #[test]
    fn seeding_skips_taken_emails() -> Result<(), Error> {
        let mut db = Db::default();
        create(&mut db, json!({"email": "user2@example.com"}))?;
        assert_eq!(db.seed_users(3), 3);
        assert_eq!(db.user_count(), 4);
        assert!(db.user_id_by_email("user4@example.com").is_some());
        Ok(())
    }
}
