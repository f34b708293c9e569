//! The teams half of the demo database: teams, their unique names, and memberships.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{Db, Page, page_of};
use crate::demo::error::Error;
use crate::demo::model::{Team, TeamFields, now};

impl Db {
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
        let id = Self::new_id(
            self.quirks.reuse_ids,
            &mut self.freed_teams,
            &mut self.next_team_id,
        );
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
        self.freed_teams.push(id);
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

    /// Creates `count` more seed users (see `seed_users`) and makes them members of `team`;
    /// returns their ids. For tests and the benchmark at customers' group sizes.
    pub(crate) fn seed_members(&mut self, team: u64, count: usize) -> Result<Vec<u64>, Error> {
        if !self.teams.contains_key(&team) {
            return Err(Error::NotFound("team"));
        }
        let first = self.next_user_id;
        self.seed_users(count);
        let ids: Vec<u64> = (first..self.next_user_id).collect();
        for &user in &ids {
            self.add_member(team, user)?;
        }
        Ok(ids)
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
