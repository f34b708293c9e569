//! §5 cases 52–53: deleting users.

use super::support::{FLAGS, gateway, numeric};

/// Case 52: DELETE → 204 with no body; the user is gone by id and by filter.
#[tokio::test]
async fn case_52_delete_user_then_404_and_empty_filter() {
    let gw = gateway().await;
    for flag in FLAGS {
        let (id, user_name) = gw.new_user("case52").await;
        gw.delete(&format!("/Users/{id}"), flag)
            .await
            .expect_no_content();
        assert!(gw.demo.user(numeric(&id)).is_none());
        gw.get(&format!("/Users/{id}"), flag)
            .await
            .expect_error(404, None);
        let found = gw
            .found("Users", &format!("userName eq \"{user_name}\""))
            .await;
        assert!(found.is_empty(), "{found:?}");
        let found = gw.found("Users", &format!("id eq \"{id}\"")).await;
        assert!(found.is_empty(), "{found:?}");
    }
    assert_eq!(gw.calls("DELETE /api/v1/users/{id}"), 2);
    assert_eq!(gw.demo.user_count(), 0);
}

/// Case 53: DELETE of an unknown user is a 404 SCIM error.
#[tokio::test]
async fn case_53_delete_unknown_user_is_404() {
    let gw = gateway().await;
    for flag in FLAGS {
        for id in ["987654321", "no-such-user"] {
            gw.delete(&format!("/Users/{id}"), flag)
                .await
                .expect_error(404, None);
        }
        // Deleting twice: the second one is a 404 too.
        let (id, _) = gw.new_user("case53").await;
        gw.delete(&format!("/Users/{id}"), flag)
            .await
            .expect_no_content();
        gw.delete(&format!("/Users/{id}"), flag)
            .await
            .expect_error(404, None);
    }
}
