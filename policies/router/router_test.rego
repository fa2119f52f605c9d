package px.router_test

import data.px.router
import data.px.router.fixtures_test as fx

# sf-express -> taobao tracking, scope own_orders, public and business kept.
sf_taobao := fx.contract("sf-express--taobao", ["sf-express", "taobao"], [fx.grant(
	"sf-express", "taobao", ["TrackingEvent"], "own_orders",
	{"public": "keep", "business": "keep"},
)])

# An OrderCreated from Taobao to SF Express, for checks that must not involve the floor.
order := fx.event("OrderCreated", "taobao", "taobao", "sf-express", null)

order_grant(scope, classes) := fx.contract("sf-express--taobao", ["sf-express", "taobao"], [fx.grant("taobao", "sf-express", ["OrderCreated"], scope, classes)])

all_dropped(d) if {
	every _, v in d.fields {
		v == {"action": "drop", "rule": "deliver.none"}
	}
}

test_no_contract_denies_everything if {
	d := router.decision with input as fx.request(order, "sf-express", ["routing", "public", "pii.phone"]) with data.contracts as {} with data.parties as fx.parties
	d.deliver == false
	count(d.fields) == 3
	all_dropped(d)
	d.reasons == ["deliver.none:no_grant"]
	d.quota_limits == {}
}

test_class_not_granted_is_default_deny if {
	d := router.decision with input as fx.request(order, "sf-express", ["public", "business"]) with data.contracts as order_grant("all", {"public": "keep"}) with data.parties as fx.parties
	d.deliver == true
	d.fields.public == {"action": "keep", "rule": "contract.sf-express--taobao"}
	d.fields.business == {"action": "drop", "rule": "default.deny"}
	d.reasons == ["contract:sf-express--taobao"]
}

test_unknown_recipient_gets_nothing if {
	d := router.decision with input as fx.request(fx.sf_tracking, "cainiao-station", ["routing", "public"]) with data.contracts as sf_taobao with data.parties as fx.parties
	d.deliver == false
	all_dropped(d)
	d.reasons == ["deliver.none:unknown_recipient"]
}

test_source_gets_nothing if {
	self_grant := fx.contract("x", ["sf-express"], [fx.grant("sf-express", "sf-express", ["TrackingEvent"], "all", {"public": "keep"})])
	d := router.decision with input as fx.request(fx.sf_tracking, "sf-express", ["routing", "public"]) with data.contracts as self_grant with data.parties as fx.parties
	d.deliver == false
	all_dropped(d)
	d.reasons == ["deliver.none:recipient_is_source"]
}

test_source_gets_nothing_even_under_the_floor if {
	ev := fx.event("TrackingEvent", "taobao", "taobao", "sf-express", null)
	d := router.decision with input as fx.request(ev, "taobao", ["public"]) with data.contracts as {} with data.parties as fx.parties
	d.deliver == false
	d.fields.public.rule == "deliver.none"
}

test_scope_all if {
	d := router.decision with input as fx.request(order, "sf-express", ["business"]) with data.contracts as order_grant("all", {"business": "keep"}) with data.parties as fx.parties
	d.fields.business.action == "keep"
}

test_scope_own_parcels if {
	c := order_grant("own_parcels", {"business": "keep"})
	router.decision.deliver == true with input as fx.request(order, "sf-express", ["business"]) with data.contracts as c with data.parties as fx.parties
	other := fx.event("OrderCreated", "taobao", "taobao", "zto", null)
	router.decision.deliver == false with input as fx.request(other, "sf-express", ["business"]) with data.contracts as c with data.parties as fx.parties
}

test_scope_own_orders if {
	router.decision.fields.business.action == "keep" with input as fx.request(fx.sf_tracking, "taobao", ["business"]) with data.contracts as sf_taobao with data.parties as fx.parties

	# A JD order carried by SF: the contract's own_orders scope does not cover
	# Taobao, and Taobao is not the order's marketplace either.
	jd_order := fx.event("TrackingEvent", "sf-express", "jd", "sf-express", null)
	router.decision.deliver == false with input as fx.request(jd_order, "taobao", ["business"]) with data.contracts as sf_taobao with data.parties as fx.parties
}

test_scope_own_lockers if {
	c := fx.contract("hive-box--sf-express", ["hive-box", "sf-express"], [fx.grant("sf-express", "hive-box", ["TrackingEvent"], "own_lockers", {"business": "keep"})])
	in_locker := fx.event("TrackingEvent", "sf-express", "taobao", "sf-express", "hive-box")
	router.decision.deliver == true with input as fx.request(in_locker, "hive-box", ["business"]) with data.contracts as c with data.parties as fx.parties
	router.decision.deliver == false with input as fx.request(fx.sf_tracking, "hive-box", ["business"]) with data.contracts as c with data.parties as fx.parties
}

test_unknown_scope_never_applies if {
	router.decision.deliver == false with input as fx.request(order, "sf-express", ["business"]) with data.contracts as order_grant("everything", {"business": "keep"}) with data.parties as fx.parties
}

test_grant_needs_matching_event_type_source_and_recipient if {
	c := order_grant("all", {"business": "keep"})
	tracking := fx.event("TrackingEvent", "taobao", "taobao", "sf-express", null)
	router.decision.deliver == false with input as fx.request(tracking, "sf-express", ["business"]) with data.contracts as c with data.parties as fx.parties
	from_jd := fx.event("OrderCreated", "jd", "jd", "sf-express", null)
	router.decision.deliver == false with input as fx.request(from_jd, "sf-express", ["business"]) with data.contracts as c with data.parties as fx.parties
	router.decision.deliver == false with input as fx.request(order, "zto", ["business"]) with data.contracts as c with data.parties as fx.parties
}

test_grant_for_party_outside_contract_is_ignored if {
	c := fx.contract("jd--zto", ["jd", "zto"], [fx.grant("taobao", "sf-express", ["OrderCreated"], "all", {"business": "keep"})])
	router.decision.deliver == false with input as fx.request(order, "sf-express", ["business"]) with data.contracts as c with data.parties as fx.parties
}

test_most_revealing_grant_wins if {
	c := fx.contract("sf-express--taobao", ["sf-express", "taobao"], [
		fx.grant("taobao", "sf-express", ["OrderCreated"], "all", {"business": "mask", "pii.name": "mask", "public": "drop"}),
		fx.grant("taobao", "sf-express", ["OrderCreated"], "own_parcels", {"business": "keep", "pii.name": "token", "public": "coarsen"}),
		fx.grant("taobao", "sf-express", ["OrderCreated"], "all", {"pii.name": "coarsen"}),
	])
	d := router.decision with input as fx.request(order, "sf-express", ["business", "pii.name", "public"]) with data.contracts as c with data.parties as fx.parties
	d.fields.business.action == "keep"
	d.fields["pii.name"].action == "token"
	d.fields.public.action == "coarsen"
}

test_tie_between_contracts_is_deterministic if {
	a := fx.contract("b--taobao", ["sf-express", "taobao"], [fx.grant("taobao", "sf-express", ["OrderCreated"], "all", {"business": "keep"})])
	b := fx.contract("a--taobao", ["sf-express", "taobao"], [fx.grant("taobao", "sf-express", ["OrderCreated"], "all", {"business": "keep"})])
	d := router.decision with input as fx.request(order, "sf-express", ["business"]) with data.contracts as object.union(a, b) with data.parties as fx.parties
	d.fields.business.rule == "contract.a--taobao"
	d.reasons == ["contract:a--taobao", "contract:b--taobao"]
}

test_unknown_action_in_contract_grants_nothing if {
	d := router.decision with input as fx.request(order, "sf-express", ["public", "business"]) with data.contracts as order_grant("all", {"public": "keep", "business": "share"}) with data.parties as fx.parties
	d.fields.business == {"action": "drop", "rule": "default.deny"}
}

test_unknown_class_dropped_even_when_granted if {
	c := order_grant("all", {"public": "keep", "pii.iris": "keep"})
	d := router.decision with input as fx.request(order, "sf-express", ["pii.iris", "biometrics"]) with data.contracts as c with data.parties as fx.parties
	d.fields["pii.iris"] == {"action": "drop", "rule": "ceiling.pii.iris"}
	d.fields.biometrics == {"action": "drop", "rule": "default.deny"}
}

test_ceiling_caps_contract_action if {
	d := router.decision with input as fx.request(fx.sf_tracking, "taobao", ["pii.phone"]) with data.contracts as fx.contract("sf-express--taobao", ["sf-express", "taobao"], [fx.grant(
		"sf-express", "taobao", ["TrackingEvent"], "own_orders",
		{"pii.phone": "keep"},
	)])
		with data.parties as fx.parties
	d.fields["pii.phone"] == {"action": "mask", "rule": "ceiling.pii.phone"}
}

quota_contract := fx.contract("sf-express--taobao", ["sf-express", "taobao"], [
	object.union(
		fx.grant("taobao", "sf-express", ["OrderCreated"], "all", {"pii.phone": "keep", "pii.address": "keep", "pii.name": "keep"}),
		{"quota": {"pii.phone": {"per_day": 200, "over": "token"}, "pii.name": {"per_day": 50}}},
	),
	object.union(
		fx.grant("taobao", "sf-express", ["OrderCreated"], "own_parcels", {"business": "keep"}),
		{"quota": {"pii.phone": {"per_day": 100, "over": "mask"}, "pii.address": {"per_day": "lots", "over": "mask"}}},
	),
])

test_quota_ok_keeps_grant_action if {
	inp := object.union(fx.request(order, "sf-express", ["pii.phone"]), {"quota": {"pii.phone": "ok"}})
	router.decision.fields["pii.phone"] == {"action": "keep", "rule": "contract.sf-express--taobao"} with input as inp with data.contracts as quota_contract with data.parties as fx.parties
	router.decision.fields["pii.phone"].action == "keep" with input as fx.request(order, "sf-express", ["pii.phone"]) with data.contracts as quota_contract with data.parties as fx.parties
}

test_quota_over_uses_fallback if {
	inp := object.union(fx.request(order, "sf-express", ["pii.phone", "pii.name", "pii.address", "business"]), {"quota": {
		"pii.phone": "over",
		"pii.name": "over",
		"business": "over",
	}})
	d := router.decision with input as inp with data.contracts as quota_contract with data.parties as fx.parties
	d.fields["pii.phone"] == {"action": "token", "rule": "quota.sf-express--taobao"}

	# A quota without an `over` action fails closed.
	d.fields["pii.name"] == {"action": "drop", "rule": "quota.sf-express--taobao"}

	# Over quota on a class the grant does not limit changes nothing.
	d.fields.business == {"action": "keep", "rule": "contract.sf-express--taobao"}
	d.fields["pii.address"].action == "keep"
}

test_quota_limits_take_the_smallest if {
	d := router.decision with input as fx.request(order, "sf-express", ["pii.phone"]) with data.contracts as quota_contract with data.parties as fx.parties
	d.quota_limits == {"pii.phone": 100, "pii.name": 50}

	# Only applying grants count: for a parcel carried by ZTO the own_parcels
	# grant (limit 100) does not apply.
	zto_order := fx.event("OrderCreated", "taobao", "taobao", "zto", null)
	d2 := router.decision with input as fx.request(zto_order, "sf-express", ["pii.phone"]) with data.contracts as quota_contract with data.parties as fx.parties
	d2.quota_limits == {"pii.phone": 200, "pii.name": 50}
}

test_quota_limits_empty_when_not_delivered if {
	d := router.decision with input as fx.request(order, "taobao", ["pii.phone"]) with data.contracts as quota_contract with data.parties as fx.parties
	d.deliver == false
	d.quota_limits == {}
}

test_routing_kept_only_when_delivered if {
	yes := router.decision with input as fx.request(order, "sf-express", ["routing"]) with data.contracts as order_grant("all", {"public": "keep"}) with data.parties as fx.parties
	yes.fields.routing == {"action": "keep", "rule": "routing.accompanies_delivery"}
	no := router.decision with input as fx.request(order, "zto", ["routing"]) with data.contracts as order_grant("all", {"public": "keep"}) with data.parties as fx.parties
	no.fields.routing == {"action": "drop", "rule": "deliver.none"}
}

test_routing_kept_even_if_contract_drops_it if {
	d := router.decision with input as fx.request(order, "sf-express", ["routing"]) with data.contracts as order_grant("all", {"routing": "drop", "public": "keep"}) with data.parties as fx.parties
	d.fields.routing.action == "keep"
}

test_repeated_field_name_takes_least_revealing if {
	inp := {
		"event": order,
		"recipient": "sf-express",
		"fields": [{"name": "x", "class": "business"}, {"name": "x", "class": "pii.phone"}, {"name": "y", "class": "business"}],
	}
	d := router.decision with input as inp with data.contracts as order_grant("all", {"business": "keep"}) with data.parties as fx.parties
	d.fields == {"x": {"action": "drop", "rule": "default.deny"}, "y": {"action": "keep", "rule": "contract.sf-express--taobao"}}
}

test_decision_defined_without_fields_or_quota if {
	d := router.decision with input as {"event": order, "recipient": "sf-express"} with data.contracts as {} with data.parties as fx.parties
	d == {"deliver": false, "fields": {}, "quota_limits": {}, "reasons": ["deliver.none:no_grant"]}
}
