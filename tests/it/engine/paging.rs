//! SCIM paging (`startIndex`, `count`) over the backend's offset/limit paging, including a
//! backend page size smaller than the SCIM page.

use std::sync::Arc;

use anyhow::Result;
use scimgate::engine::EngineOptions;
use scimgate::store::SqliteStore;

use super::{DEMO_MAPPING, engine_for, fixture_with, query};

#[tokio::test]
async fn pages_report_start_index_items_and_total() -> Result<()> {
    let fx = fixture_with(25, EngineOptions::default()).await?;
    let q = query(&fx.engine, "User", &[("startIndex", "1"), ("count", "10")])?;
    let page = fx.engine.list("User", &q).await?.to_json();
    assert_eq!(page["totalResults"], 25);
    assert_eq!(page["itemsPerPage"], 10);
    assert_eq!(page["startIndex"], 1);
    assert_eq!(fx.demo.calls().total, 1);

    let q = query(&fx.engine, "User", &[("startIndex", "21"), ("count", "10")])?;
    let last = fx.engine.list("User", &q).await?.to_json();
    assert_eq!(last["totalResults"], 25);
    assert_eq!(last["itemsPerPage"], 5);
    assert_eq!(last["startIndex"], 21);
    assert_ne!(page["Resources"][0]["id"], last["Resources"][0]["id"]);

    // count=0 asks only for the total.
    let q = query(&fx.engine, "User", &[("count", "0")])?;
    let total = fx.engine.list("User", &q).await?.to_json();
    assert_eq!(total["totalResults"], 25);
    assert_eq!(total["itemsPerPage"], 0);

    // Past the end: empty page, total still right.
    let q = query(&fx.engine, "User", &[("startIndex", "100"), ("count", "5")])?;
    let past = fx.engine.list("User", &q).await?.to_json();
    assert_eq!(past["totalResults"], 25);
    assert_eq!(past["itemsPerPage"], 0);

    // Absurd values never panic.
    let q = query(
        &fx.engine,
        "User",
        &[
            ("startIndex", "99999999999999999999999"),
            ("count", "99999999999"),
        ],
    )?;
    let absurd = fx.engine.list("User", &q).await?.to_json();
    assert_eq!(absurd["itemsPerPage"], 0);
    Ok(())
}

#[tokio::test]
async fn a_small_backend_page_size_takes_one_call_per_backend_page() -> Result<()> {
    let fx = fixture_with(25, EngineOptions::default()).await?;
    let yaml = DEMO_MAPPING.replacen("max_page_size: 200", "max_page_size: 7", 1);
    let engine = engine_for(
        &fx.demo.base_url(),
        &yaml,
        Arc::new(SqliteStore::open_in_memory()?),
        EngineOptions::default(),
    )?;
    let q = query(&engine, "User", &[("startIndex", "3"), ("count", "20")])?;
    let page = engine.list("User", &q).await?.to_json();
    assert_eq!(page["itemsPerPage"], 20);
    assert_eq!(page["totalResults"], 25);
    // 20 items in backend pages of at most 7: 7 + 7 + 6.
    assert_eq!(fx.demo.calls().route("GET /api/v1/users"), 3);
    let emails: Vec<String> = page["Resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["userName"].as_str().map(str::to_owned))
        .collect();
    let mut unique = emails.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 20, "no item twice: {emails:?}");
    Ok(())
}
