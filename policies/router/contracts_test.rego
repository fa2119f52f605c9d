package px.router.contracts_test

import data.px.router.contracts
import data.px.router.fixtures_test as fx

# A Taobao order carried by SF Express, bound for a Hive Box locker.
order := fx.event("OrderCreated", "taobao", "taobao", "sf-express", "hive-box")

order_request(recipient) := fx.request(order, recipient, ["business"])

taobao_sf(grants) := fx.contract("sf-express--taobao", ["sf-express", "taobao"], grants)

to_sf(scope, classes) := fx.grant("taobao", "sf-express", ["OrderCreated"], scope, classes)

test_scope_all_always_holds if {
	contracts.scope_holds("all") with input as order_request("jd")
}

test_scope_own_roles_hold_only_for_that_role if {
	# [scope, recipient for whom it holds, recipient for whom it does not]
	cases := [
		["own_orders", "taobao", "sf-express"],
		["own_parcels", "sf-express", "hive-box"],
		["own_lockers", "hive-box", "taobao"],
	]
	every c in cases {
		contracts.scope_holds(c[0]) with input as order_request(c[1])
		not contracts.scope_holds(c[0]) with input as order_request(c[2])
	}
}

test_unknown_scope_never_holds if {
	not contracts.scope_holds("everything") with input as order_request("sf-express")
	not contracts.scope_holds("own_orders ") with input as order_request("taobao")
}

test_applying_names_the_contract_and_grant if {
	g := to_sf("own_parcels", {"business": "keep"})
	a := contracts.applying with input as order_request("sf-express") with data.contracts as taobao_sf([g])
	a == {{"contract": "sf-express--taobao", "grant": g}}
}

test_grant_must_match_source_recipient_type_and_scope if {
	good := to_sf("all", {"business": "keep"})
	bad := [
		fx.grant("taobao", "sf-express", ["TrackingEvent", "LockerEvent"], "all", {"business": "keep"}),
		to_sf("own_orders", {"business": "keep"}),
	]
	c := object.union(
		taobao_sf(array.concat([good], bad)),
		# Grants between members of their contracts, but from another source
		# or to another recipient.
		object.union(
			fx.contract("jd--sf-express", ["jd", "sf-express"], [fx.grant("jd", "sf-express", ["OrderCreated"], "all", {"business": "keep"})]),
			fx.contract("taobao--zto", ["taobao", "zto"], [fx.grant("taobao", "zto", ["OrderCreated"], "all", {"business": "keep"})]),
		),
	)
	a := contracts.applying with input as order_request("sf-express") with data.contracts as c
	a == {{"contract": "sf-express--taobao", "grant": good}}
}

test_grant_between_non_members_does_not_apply if {
	# The right source, recipient, event and scope, in a contract that does
	# not bind the recipient, the source, or either.
	every members in [["taobao", "zto"], ["jd", "sf-express"], ["jd", "zto"]] {
		c := fx.contract(concat("--", members), members, [to_sf("all", {"business": "keep"})])
		count(contracts.applying) == 0 with input as order_request("sf-express") with data.contracts as c
		count(contracts.applied) == 0 with input as order_request("sf-express") with data.contracts as c
	}
}

test_applied_lists_each_contract_once if {
	c := object.union(
		taobao_sf([to_sf("all", {"business": "keep"}), to_sf("own_parcels", {"public": "keep"})]),
		fx.contract("hive-box--taobao", ["hive-box", "taobao"], [fx.grant("taobao", "hive-box", ["OrderCreated"], "all", {"public": "keep"})]),
	)
	count(contracts.applying) == 2 with input as order_request("sf-express") with data.contracts as c
	contracts.applied == {"sf-express--taobao"} with input as order_request("sf-express") with data.contracts as c
	contracts.applied == {"hive-box--taobao"} with input as order_request("hive-box") with data.contracts as c
}

test_over_quota_only_when_reported_over if {
	inp := object.union(order_request("sf-express"), {"quota": {"pii.phone": "over", "pii.name": "ok", "staff.pii": "near"}})
	contracts.over_quota("pii.phone") with input as inp
	not contracts.over_quota("pii.name") with input as inp
	not contracts.over_quota("staff.pii") with input as inp
	not contracts.over_quota("pii.address") with input as inp
	not contracts.over_quota("pii.phone") with input as order_request("sf-express")
}

limited := object.union(to_sf("all", {"pii.phone": "keep", "pii.name": "keep", "business": "keep"}), {"quota": {
	"pii.phone": {"per_day": 10, "over": "token"},
	"pii.name": {"per_day": 10},
}})

test_offer_within_quota_is_the_grant_action if {
	a := {"contract": "sf-express--taobao", "grant": limited}
	o := contracts.offer(a, "pii.phone", "keep") with input as order_request("sf-express")
	o == {"action": "keep", "rule": "contract.sf-express--taobao"}
}

test_offer_over_quota_is_the_fallback_or_drop if {
	a := {"contract": "sf-express--taobao", "grant": limited}
	inp := object.union(order_request("sf-express"), {"quota": {"pii.phone": "over", "pii.name": "over", "business": "over"}})
	contracts.offer(a, "pii.phone", "keep") == {"action": "token", "rule": "quota.sf-express--taobao"} with input as inp
	contracts.offer(a, "pii.name", "keep") == {"action": "drop", "rule": "quota.sf-express--taobao"} with input as inp

	# Over quota on a class the grant sets no quota for changes nothing.
	contracts.offer(a, "business", "keep") == {"action": "keep", "rule": "contract.sf-express--taobao"} with input as inp
}

test_offers_leave_out_unknown_actions if {
	c := taobao_sf([to_sf("all", {"business": "keep", "public": "share"})])
	o := contracts.offers with input as order_request("sf-express") with data.contracts as c
	o == {{"class": "business", "action": "keep", "rule": "contract.sf-express--taobao"}}
	not contracts.best.public with input as order_request("sf-express") with data.contracts as c
}

test_best_takes_the_most_revealing_offer_per_class if {
	c := taobao_sf([
		to_sf("all", {"business": "mask", "pii.name": "token", "public": "drop"}),
		to_sf("own_parcels", {"business": "coarsen", "pii.name": "mask"}),
		to_sf("own_lockers", {"business": "keep"}),
	])
	b := contracts.best with input as order_request("sf-express") with data.contracts as c
	b == {
		"business": {"action": "coarsen", "rule": "contract.sf-express--taobao"},
		"pii.name": {"action": "token", "rule": "contract.sf-express--taobao"},
		"public": {"action": "drop", "rule": "contract.sf-express--taobao"},
	}
}

test_best_breaks_ties_by_smallest_rule if {
	c := object.union(
		fx.contract("b--taobao", ["sf-express", "taobao"], [to_sf("all", {"business": "mask"})]),
		fx.contract("a--taobao", ["sf-express", "taobao"], [to_sf("all", {"business": "mask"})]),
	)
	contracts.best.business == {"action": "mask", "rule": "contract.a--taobao"} with input as order_request("sf-express") with data.contracts as c
}

test_best_prefers_a_contract_over_a_quota_fallback_of_equal_rank if {
	c := object.union(
		fx.contract("a--taobao", ["sf-express", "taobao"], [object.union(to_sf("all", {"pii.phone": "keep"}), {"quota": {"pii.phone": {"per_day": 1, "over": "mask"}}})]),
		fx.contract("b--taobao", ["sf-express", "taobao"], [to_sf("all", {"pii.phone": "mask"})]),
	)
	inp := object.union(order_request("sf-express"), {"quota": {"pii.phone": "over"}})
	contracts.best["pii.phone"] == {"action": "mask", "rule": "contract.b--taobao"} with input as inp with data.contracts as c
	contracts.best["pii.phone"] == {"action": "keep", "rule": "contract.a--taobao"} with input as order_request("sf-express") with data.contracts as c
}

test_best_is_empty_without_applying_grants if {
	count(contracts.best) == 0 with input as order_request("zto") with data.contracts as taobao_sf([to_sf("all", {"business": "keep"})])
}
