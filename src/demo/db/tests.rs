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
fn a_manager_is_kept_as_given_and_memberships_go_with_the_user() -> Result<(), Error> {
    let mut db = Db::default();
    let boss = create(&mut db, json!({"username": "boss"}))?;
    let report = create(
        &mut db,
        json!({"username": "r", "manager": boss.to_string()}),
    )?;
    // A reference to nobody here is stored as given (a directory's id, an employee number).
    let other = create(&mut db, json!({"username": "s", "manager": "SuzzyQ"}))?;
    assert_eq!(
        db.user(other)
            .and_then(|u| u.fields.manager.clone())
            .as_deref(),
        Some("SuzzyQ")
    );
    db.patch_user(other, &obj(json!({"manager": ""})))?;
    assert_eq!(db.user(other).and_then(|u| u.fields.manager.clone()), None);
    let team = db.create_team(&obj(json!({"name": "Sales"})))?.id;
    db.add_member(team, boss)?;
    db.add_member(team, report)?;
    db.delete_user(boss)?;
    assert_eq!(
        db.user(report).and_then(|u| u.fields.manager.clone()),
        Some(boss.to_string())
    );
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

#[test]
fn searches_are_anded_and_ignore_case() -> Result<(), Error> {
    let mut db = Db::default();
    let omalley = create(
        &mut db,
        json!({"username": "OMalley", "last_name": "OMalley", "email": "anna33@example.com",
               "display_name": "Kimberly Baker"}),
    )?;
    let emp = create(
        &mut db,
        json!({"username": "emp1", "last_name": "Employee", "email": "anna33@gmail.com",
               "home_email": "anna@Example.org"}),
    )?;
    let ids = |search: &UserSearch| -> Vec<u64> {
        db.search_users(search, 0, 50)
            .items
            .iter()
            .map(|u| u.id)
            .collect()
    };
    let prefix = UserSearch {
        username_prefix: Some("o".into()),
        ..UserSearch::default()
    };
    assert_eq!(ids(&prefix), vec![omalley]);
    let contains = UserSearch {
        email_contains: Some("EXAMPLE".into()),
        ..UserSearch::default()
    };
    assert_eq!(ids(&contains), vec![omalley, emp], "work or home email");
    let both = UserSearch {
        email_contains: Some("example.org".into()),
        last_name: Some("employee".into()),
        ..UserSearch::default()
    };
    assert_eq!(ids(&both), vec![emp]);
    let display = UserSearch {
        display_name: Some("kimberly baker".into()),
        ..UserSearch::default()
    };
    assert_eq!(ids(&display), vec![omalley]);
    let created = db.user(emp).map(|u| u.created_at);
    let after = UserSearch {
        created_after: created,
        ..UserSearch::default()
    };
    assert!(ids(&after).is_empty(), "strictly after");
    let earlier = UserSearch {
        created_after: created.map(|at| at - time::Duration::seconds(1)),
        ..UserSearch::default()
    };
    assert_eq!(db.search_users(&earlier, 1, 1).total, 2);
    Ok(())
}

#[test]
fn manager_id_is_the_older_name_of_manager_and_the_changed_one_wins() -> Result<(), Error> {
    let mut db = Db::default();
    let manager = |db: &Db, id| db.user(id).and_then(|u| u.fields.manager.clone());
    // A v1 mapping writes the integer `manager_id`.
    let ann = create(&mut db, json!({"username": "ann", "manager_id": 5}))?;
    assert_eq!(manager(&db, ann).as_deref(), Some("5"));
    let read = serde_json::to_value(db.user(ann)).map_err(|e| Error::invalid(e.to_string()))?;
    assert_eq!(
        (read["manager"].clone(), read["manager_id"].clone()),
        (json!("5"), json!(5))
    );
    // A PUT sends back what it read with one of the two changed: the changed one wins.
    db.replace_user(
        ann,
        &obj(json!({"username": "ann", "manager": "5", "manager_id": 9})),
    )?;
    assert_eq!(manager(&db, ann).as_deref(), Some("9"));
    db.replace_user(
        ann,
        &obj(json!({"username": "ann", "manager": "7", "manager_id": 9})),
    )?;
    assert_eq!(manager(&db, ann).as_deref(), Some("7"));
    db.patch_user(ann, &obj(json!({"manager_id": null})))?;
    assert_eq!(manager(&db, ann), None);
    Ok(())
}
