//! Issue 13 review: a group member write is all or nothing even when its request is dropped
//! part way. The client hangs up while the second of three member adds is slow; the gateway
//! still finishes the plan (or undoes it), so the backend group ends exactly as a whole request
//! leaves it, and the audit trail records the write.

use std::time::{Duration, Instant};

use scimgate::demo::Fault;
use serde_json::{Value, json};

use super::support::{Flag, gateway, numeric, patch_body};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_patch_whose_client_hangs_up_is_finished_whole_and_audited() {
    let gw = gateway().await;
    let (gid, _) = gw.new_group("dropped").await;
    let mut users = Vec::new();
    for _ in 0..3 {
        users.push(gw.new_user("dropped").await.0);
    }
    gw.demo.inject(
        Fault::delay(1_000)
            .after(1)
            .times(1)
            .on("POST /api/v1/teams/{id}/members"),
    );
    let values: Vec<Value> = users.iter().map(|u| json!({"value": u})).collect();
    let operations = json!([{"op": "add", "path": "members", "value": values}]);
    let hung_up = gw
        .request("PATCH", &gw.url(&format!("/Groups/{gid}"), Flag::Off))
        .header("content-type", "application/scim+json; charset=utf-8")
        .body(patch_body(&operations).to_string())
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(hung_up.is_err(), "the client hung up first: {hung_up:?}");

    // The group ends with all three members: the plan ran to its end without the client.
    let mut wanted: Vec<u64> = users.iter().map(|u| numeric(u)).collect();
    wanted.sort_unstable();
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let mut members = gw.members(&gid);
        members.sort_unstable();
        if members == wanted {
            break;
        }
        assert!(
            Instant::now() < until,
            "the group was left half-changed: members {members:?}, wanted {wanted:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // And the write is in the audit trail, as a success.
    let root = gw.base().trim_end_matches("/scim/v2").to_owned();
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let trail = gw
            .send(gw.request(
                "GET",
                &format!("{root}/admin/audit?since=2000-01-01T00:00:00Z&scimId={gid}"),
            ))
            .await;
        assert_eq!(trail.status, 200, "{:?}", trail.body);
        let trail = trail.json();
        let patched = trail["entries"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["operation"] == "patch");
        if let Some(entry) = patched {
            assert_eq!(entry["outcome"], "success", "{entry}");
            assert_eq!(entry["status"], 204, "{entry}");
            break;
        }
        assert!(
            Instant::now() < until,
            "no audit entry for the PATCH: {trail}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
