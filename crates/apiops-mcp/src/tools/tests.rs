//! The tools' schemas and argument checks as an agent meets them: every schema strict and
//! matching its parser, annotations truthful, unknown tools and arguments refused, each
//! argument's bounds and defaults.

use super::*;

fn call(name: &str, args: Value) -> Result<ToolCall, CallError> {
    parse(name, args.as_object(), false)
}

fn arg_error(name: &str, args: Value) -> String {
    match call(name, args) {
        Err(CallError::Args(ArgError(m))) => m,
        other => panic!("expected an argument error, got {other:?}"),
    }
}

#[test]
fn every_tool_has_a_strict_object_schema_and_parses_without_arguments_where_it_can() {
    let tools = definitions(false, false);
    let names: Vec<&str> = tools.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            CREDENTIALS_STATUS,
            HEALTH_CHECK,
            ERROR_AUDIT,
            CONFIG_AUDIT,
            USAGE_REPORT,
            LIST_EVENTS,
            LIST_OPERATIONS,
            LIST_APIS,
            API_OPERATIONS,
            CALL_API,
            GRAPHQL_QUERY,
            PLAN_OPERATION,
            EXECUTE_PLAN
        ]
    );
    for t in &tools {
        assert_eq!(t.input_schema["type"], "object", "{}", t.name);
        assert_eq!(t.input_schema["additionalProperties"], false, "{}", t.name);
        assert!(!t.description.is_empty());
        let required = t.input_schema["required"]
            .as_array()
            .expect("required")
            .clone();
        if required.is_empty() {
            assert!(call(t.name, json!({})).is_ok(), "{}", t.name);
        } else {
            assert!(call(t.name, json!({})).is_err(), "{}", t.name);
        }
        // Every property the schema lists is one the parser accepts, and vice versa.
        let props = t.input_schema["properties"]
            .as_object()
            .expect("properties");
        for key in props.keys() {
            if let Err(CallError::Args(ArgError(m))) = call(t.name, json!({key: null})) {
                assert!(!m.contains("has no argument"), "{}: {m}", t.name);
            }
        }
    }
}

#[test]
fn annotations_are_truthful() {
    for t in definitions(false, true) {
        if t.name == EXECUTE_PLAN {
            assert!(!t.hints.read_only && t.hints.destructive && t.hints.open_world);
        } else {
            assert!(t.hints.read_only, "{}", t.name);
            assert!(!t.hints.destructive, "{}", t.name);
            assert!(t.hints.idempotent, "{}", t.name);
        }
    }
    let offline = [CREDENTIALS_STATUS, LIST_EVENTS, LIST_OPERATIONS];
    for t in definitions(false, false) {
        assert_eq!(
            t.hints.open_world,
            !offline.contains(&t.name),
            "{}: open world",
            t.name
        );
    }
}

#[test]
fn read_only_leaves_out_execute_plan_and_refuses_calling_it() {
    let names: Vec<&str> = definitions(true, false).iter().map(|t| t.name).collect();
    assert!(!names.contains(&EXECUTE_PLAN));
    assert!(names.iter().all(|n| *n != EXECUTE_PLAN));
    assert_eq!(
        parse(
            EXECUTE_PLAN,
            json!({"plan_id": "plan_0123456789abcdef0123456789abcdef"}).as_object(),
            true
        ),
        Err(CallError::UnknownTool(EXECUTE_PLAN.into()))
    );
    assert!(
        parse(
            EXECUTE_PLAN,
            json!({"plan_id": "plan_0123456789abcdef0123456789abcdef"}).as_object(),
            false
        )
        .is_ok()
    );
}

#[test]
fn unknown_tools_and_unknown_arguments_are_refused() {
    assert_eq!(
        call("delete_everything", json!({})),
        Err(CallError::UnknownTool("delete_everything".into()))
    );
    let m = arg_error(HEALTH_CHECK, json!({"service": ["twilio"]}));
    assert!(m.contains("no argument \"service\""), "{m}");
    assert!(m.contains("services"), "{m}");
    let m = arg_error(CREDENTIALS_STATUS, json!({"verbose": true}));
    assert!(m.contains("no arguments"), "{m}");
}

#[test]
fn services_are_checked_and_sorted() {
    assert_eq!(
        call(HEALTH_CHECK, json!({"services": ["stripe", "twilio"]})),
        Ok(ToolCall::HealthCheck {
            services: vec![Service::Twilio, Service::Stripe]
        })
    );
    assert_eq!(
        call(HEALTH_CHECK, json!({"services": []})),
        Ok(ToolCall::HealthCheck { services: vec![] })
    );
    assert_eq!(
        call(CONFIG_AUDIT, json!({"services": null})),
        Ok(ToolCall::ConfigAudit { services: vec![] })
    );
    assert!(arg_error(HEALTH_CHECK, json!({"services": ["paypal"]})).contains("not a service"));
    assert!(arg_error(HEALTH_CHECK, json!({"services": "twilio"})).contains("array"));
    assert!(arg_error(HEALTH_CHECK, json!({"services": ["twilio", "Twilio"]})).contains("twice"));
}

#[test]
fn durations_default_and_are_bounded() {
    assert_eq!(
        call(ERROR_AUDIT, json!({})),
        Ok(ToolCall::ErrorAudit {
            services: vec![],
            since: DEFAULT_SINCE,
            resource: None
        })
    );
    assert_eq!(
        call(
            ERROR_AUDIT,
            json!({"since": "6h", "services": ["twilio"], "resource": " call "})
        ),
        Ok(ToolCall::ErrorAudit {
            services: vec![Service::Twilio],
            since: Duration::from_secs(6 * 3600),
            resource: Some("call".into())
        })
    );
    assert!(arg_error(ERROR_AUDIT, json!({"since": "0s"})).contains("above zero"));
    assert!(arg_error(ERROR_AUDIT, json!({"since": "yesterday"})).contains("invalid duration"));
    assert!(arg_error(ERROR_AUDIT, json!({"since": 3600})).contains("duration string"));
    assert!(arg_error(LIST_EVENTS, json!({"since": "365d"})).contains("90 days"));
    assert!(arg_error(ERROR_AUDIT, json!({"resource": ""})).contains("empty"));
}

#[test]
fn event_listing_limits() {
    assert_eq!(
        call(LIST_EVENTS, json!({"service": "stripe", "limit": 5})),
        Ok(ToolCall::ListEvents {
            since: DEFAULT_SINCE,
            service: Some(Service::Stripe),
            limit: 5
        })
    );
    for bad in [json!(0), json!(1001), json!(-1), json!(2.5), json!("10")] {
        assert!(arg_error(LIST_EVENTS, json!({"limit": bad})).contains("integer"));
    }
    assert!(arg_error(LIST_EVENTS, json!({"service": ["stripe"]})).contains("not a service"));
}

#[test]
fn plan_requests_in_words_or_structured() {
    assert_eq!(
        call(
            PLAN_OPERATION,
            json!({"request": "  buy a phone number in 415 "})
        ),
        Ok(ToolCall::PlanOperation {
            request: PlanRequest::Text("buy a phone number in 415".into()),
            fresh: false
        })
    );
    let structured = call(
        PLAN_OPERATION,
        json!({"request": {"operation": "twilio.numbers.buy", "params": {"area_code": 415}}, "fresh": true}),
    );
    let Ok(ToolCall::PlanOperation {
        request: PlanRequest::Structured { kind, params },
        fresh: true,
    }) = structured
    else {
        panic!("{structured:?}");
    };
    assert_eq!(kind, OpKind::TwilioBuyNumber);
    assert_eq!(params["area_code"], 415);
    // Without params: the operation's own checks decide later (a question, not a default).
    assert!(matches!(
        call(
            PLAN_OPERATION,
            json!({"request": {"operation": "stripe.endpoints.list"}})
        ),
        Ok(ToolCall::PlanOperation {
            request: PlanRequest::Structured { .. },
            ..
        })
    ));
    assert!(arg_error(PLAN_OPERATION, json!({})).contains("request is required"));
    assert!(arg_error(PLAN_OPERATION, json!({"request": ""})).contains("empty"));
    assert!(arg_error(PLAN_OPERATION, json!({"request": 5})).contains("string"));
    assert!(arg_error(PLAN_OPERATION, json!({"request": "x".repeat(1001)})).contains("longer"));
    assert!(
        arg_error(
            PLAN_OPERATION,
            json!({"request": {"operation": "twilio.numbers.steal"}})
        )
        .contains("not an operation")
    );
    assert!(
        arg_error(PLAN_OPERATION, json!({"request": {"params": {}}}))
            .contains("needs \"operation\"")
    );
    assert!(
        arg_error(
            PLAN_OPERATION,
            json!({"request": {"operation": "twilio.numbers.buy", "param": {}}})
        )
        .contains("no field \"param\"")
    );
    assert!(
        arg_error(
            PLAN_OPERATION,
            json!({"request": {"operation": "twilio.numbers.buy", "params": [415]}})
        )
        .contains("params must be an object")
    );
    assert!(
        arg_error(PLAN_OPERATION, json!({"request": "x", "fresh": "yes"}))
            .contains("true or false")
    );
}

#[test]
fn the_request_schema_offers_every_catalog_operation() {
    let tools = definitions(false, false);
    let plan = tools
        .iter()
        .find(|t| t.name == PLAN_OPERATION)
        .expect("plan_operation");
    let alternatives = plan.input_schema["properties"]["request"]["oneOf"]
        .as_array()
        .expect("oneOf");
    assert_eq!(alternatives.len(), CATALOG.len() + 1);
    assert_eq!(alternatives[0]["type"], "string");
    for (alt, spec) in alternatives[1..].iter().zip(CATALOG) {
        assert_eq!(alt["properties"]["operation"]["const"], spec.name);
        assert_eq!(
            alt["properties"]["params"],
            apiops_ops::params::schema(spec.kind)
        );
    }
}

#[test]
fn plan_ids_are_checked() {
    assert!(is_plan_id("plan_0123456789abcdef0123456789abcdef"));
    for bad in [
        "plan_0123456789ABCDEF",
        "plan_0123456789abcdef",
        "plan_0123",
        "twilio.numbers.buy:abc",
        "",
        "plan_0123456789abcdeg",
    ] {
        assert!(!is_plan_id(bad), "{bad}");
        assert!(
            arg_error(EXECUTE_PLAN, json!({"plan_id": bad})).contains("not a plan id"),
            "{bad}"
        );
    }
    assert_eq!(
        call(
            EXECUTE_PLAN,
            json!({"plan_id": " plan_0123456789abcdef0123456789abcdef "})
        ),
        Ok(ToolCall::ExecutePlan {
            plan_id: "plan_0123456789abcdef0123456789abcdef".into()
        })
    );
    assert!(arg_error(EXECUTE_PLAN, json!({})).contains("plan_id is required"));
}

#[test]
fn graphql_query_arguments() {
    assert_eq!(
        call(
            GRAPHQL_QUERY,
            json!({"api": "gh", "query": " { viewer { login } } ", "variables": {"n": 1}, "all": true, "cursor_var": "after"})
        ),
        Ok(ToolCall::GraphQlQuery {
            api: "gh".into(),
            query: "{ viewer { login } }".into(),
            variables: json!({"n": 1}).as_object().cloned().unwrap_or_default(),
            all: true,
            cursor_var: Some("after".into()),
            connection: None,
        })
    );
    for (args, want) in [
        (json!({"query": "{ a }"}), "needs api"),
        (json!({"api": "gh"}), "needs query"),
        (json!({"api": "gh", "query": ""}), "must not be empty"),
        (
            json!({"api": "gh", "query": "{ a }", "variables": [1]}),
            "variables is an object",
        ),
        (
            json!({"api": "gh", "query": "{ a }", "all": "yes"}),
            "true or false",
        ),
        (
            json!({"api": "gh", "query": "{ a }", "cursor_var": "after"}),
            "go with all",
        ),
        (
            json!({"api": "gh", "query": "{ a }", "operation": "x"}),
            "no argument \"operation\"",
        ),
        (
            json!({"api": "gh", "query": "x".repeat(MAX_GRAPHQL_CHARS + 1)}),
            "longer than",
        ),
    ] {
        let m = arg_error(GRAPHQL_QUERY, args.clone());
        assert!(m.contains(want), "{args}: {m}");
    }
}
