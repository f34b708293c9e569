//! Unit tests of the demo database's indexes and cross-record rules.

use super::*;
use crate::demo::model::Status;
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
fn username_index_follows_changes_and_ignores_case() -> Result<(), Error> {
    let mut db = Db::default();
    let id = create(
        &mut db,
        json!({"username": "Ann", "email": "ann@example.com"}),
    )?;
    assert_eq!(db.user_id_by_username("ANN"), Some(id));
    assert_eq!(
        create(&mut db, json!({"username": "aNN"})),
        Err(Error::Conflict("username taken"))
    );
    db.patch_user(id, &obj(json!({"username": "ann.lee"})))?;
    assert_eq!(db.user_id_by_username("ann"), None);
    assert_eq!(db.user_id_by_username("Ann.Lee"), Some(id));
    // The old login is free again.
    let other = create(&mut db, json!({"username": "ann"}))?;
    assert_ne!(other, id);
    Ok(())
}

#[test]
fn emails_are_shared_and_found_ignoring_case() -> Result<(), Error> {
    let mut db = Db::default();
    let ann = create(
        &mut db,
        json!({"username": "ann", "email": "Team@Example.com"}),
    )?;
    let bob = create(
        &mut db,
        json!({"username": "bob", "email": "team@example.com"}),
    )?;
    let ids = |db: &Db, email: &str| {
        db.list_users(None, Some(email), None, 0, 50)
            .items
            .iter()
            .map(|u| u.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&db, "TEAM@example.com"), vec![ann, bob]);
    db.patch_user(ann, &obj(json!({"email": null})))?;
    assert_eq!(ids(&db, "team@example.com"), vec![bob]);
    db.delete_user(bob)?;
    assert_eq!(ids(&db, "team@example.com"), Vec::<u64>::new());
    assert_eq!(
        db.list_users(Some("ann"), Some("team@example.com"), None, 0, 50)
            .total,
        0
    );
    Ok(())
}

#[test]
fn ids_are_never_reused() -> Result<(), Error> {
    let mut db = Db::default();
    let first = create(&mut db, json!({"username": "a"}))?;
    db.delete_user(first)?;
    let second = create(&mut db, json!({"username": "a"}))?;
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
    let page = db.list_users(None, None, Some(Status::Disabled), 1, 1);
    assert_eq!(page.total, 3);
    assert_eq!(page.items.iter().map(|u| u.id).collect::<Vec<_>>(), vec![5]);
    assert_eq!(
        db.list_users(None, None, Some(Status::Active), 0, 50).total,
        7
    );
    assert_eq!(
        db.list_users(Some("USER5@example.com"), None, Some(Status::Active), 0, 50)
            .total,
        0
    );
    assert_eq!(
        db.list_users(Some("user5@example.com"), None, None, 0, 50)
            .total,
        1
    );
    Ok(())
}

#[test]
fn deleting_a_manager_clears_it_on_reports_and_memberships_go() -> Result<(), Error> {
    let mut db = Db::default();
    let boss = create(&mut db, json!({"username": "boss"}))?;
    let report = create(&mut db, json!({"username": "r", "manager_id": boss}))?;
    assert_eq!(
        create(&mut db, json!({"username": "s", "manager_id": 99})),
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
fn seeding_skips_taken_usernames() -> Result<(), Error> {
    let mut db = Db::default();
    create(&mut db, json!({"username": "user2@example.com"}))?;
    assert_eq!(db.seed_users(3), 3);
    assert_eq!(db.user_count(), 4);
    assert!(db.user_id_by_username("user4@example.com").is_some());
    assert_eq!(
        db.list_users(None, Some("user4@example.com"), None, 0, 50)
            .total,
        1
    );
    Ok(())
}
