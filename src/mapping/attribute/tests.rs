use super::*;

#[test]
fn plain_paths() {
    let f = Segment::field;
    assert_eq!(plain_segments("$.a.b"), Some((vec![f("a"), f("b")], false)));
    assert_eq!(
        plain_segments("$['first name'].x"),
        Some((vec![f("first name"), f("x")], false))
    );
    assert_eq!(
        plain_segments("$.metadata.*"),
        Some((vec![f("metadata")], true))
    );
    assert_eq!(plain_segments("$.items[0].x"), None);
    assert_eq!(plain_segments("$"), None);
}

#[test]
fn element_paths_select_a_list_element_by_one_member() {
    let (segments, family) = plain_segments("$.custom_fields[?(@.id==1)].value").unwrap();
    assert!(!family);
    assert_eq!(
        segments,
        vec![
            Segment::field("custom_fields"),
            Segment::Element {
                key: "id".into(),
                value: serde_json::json!(1)
            },
            Segment::field("value"),
        ]
    );
    let (quoted, _) = plain_segments("$.attrs[?(@.name == 'dept')].v").unwrap();
    assert_eq!(
        quoted[1],
        Segment::Element {
            key: "name".into(),
            value: serde_json::json!("dept")
        }
    );
    // The element must be followed by a field, and filters other than `==` are not writable.
    assert_eq!(plain_segments("$.custom_fields[?(@.id==1)]"), None);
    assert_eq!(plain_segments("$.custom_fields[?(@.id>1)].value"), None);
    assert_eq!(plain_segments("$[?(@.id==1)].value"), None);
}

#[test]
fn element_paths_read_and_write_in_place() {
    let (segments, _) = plain_segments("$.custom_fields[?(@.id==2)].value").unwrap();
    let mut object = serde_json::json!({"custom_fields": [
        {"id": 1, "name": "employeeNumber", "value": "E-1"},
        {"id": 2, "name": "department", "value": null}
    ]});
    assert_eq!(get_path(&object, &segments), Some(&Value::Null));
    set_path(&mut object, &segments, serde_json::json!("Sales"));
    assert_eq!(object["custom_fields"][1]["value"], "Sales");
    assert_eq!(object["custom_fields"][0]["value"], "E-1");
    // Missing list and element are created; a second field lands in the same list.
    let (first, _) = plain_segments("$.custom_fields[?(@.id==1)].value").unwrap();
    let mut body = serde_json::json!({});
    set_path(&mut body, &segments, serde_json::json!("Sales"));
    set_path(&mut body, &first, serde_json::json!("E-2"));
    assert_eq!(
        body,
        serde_json::json!({"custom_fields": [
            {"id": 2, "value": "Sales"}, {"id": 1, "value": "E-2"}
        ]})
    );
    // A string id in the backend still matches a numeric selector.
    let text_ids = serde_json::json!({"custom_fields": [{"id": "1", "value": "x"}]});
    assert_eq!(get_path(&text_ids, &first), Some(&serde_json::json!("x")));
}

#[test]
fn list_items_accept_every_shape_entra_sends() {
    let want = vec!["a".to_owned(), "b".to_owned()];
    assert_eq!(list_items(&serde_json::json!(["a", " b"]), ","), want);
    assert_eq!(
        list_items(&serde_json::json!([{"value": "a"}, {"value": "b"}]), ","),
        want
    );
    assert_eq!(list_items(&serde_json::json!("a, b"), ","), want);
    assert_eq!(list_items(&serde_json::json!(["a,b"]), ","), want);
}

#[test]
fn targets() {
    let t = Target::parse("emails[type eq \"work\"].value", None).unwrap();
    assert_eq!(t.select, Some(("type".into(), "work".into())));
    assert_eq!(t.sub.as_deref(), Some("value"));
    assert_eq!(t.display(), "emails[type eq \"work\"].value");
    assert!(Target::parse("emails[type]", None).is_err());
    assert!(Target::parse("na me", None).is_err());
}
