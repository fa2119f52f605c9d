# Key cases of the shipped parties and contracts (policies/data and
# policies/contracts), located by shipped_parties and shipped_contracts.
package px.router.shipped_test

import data.px.router
import data.px.router.fixtures_test as fx
import data.px.router.lint

# The shipped documents. The build (and `opa test policies/router
# policies/data policies/contracts`) loads them at data.parties and
# data.contracts; `opa test policies/` roots the loader one level higher and
# puts them at data.data.parties and data.contracts.contracts. The tests
# accept either layout; the router itself only reads data.parties and
# data.contracts.
shipped_parties := data.data.parties if {
	data.data.parties
} else := data.parties

shipped_contracts := data.contracts.contracts if {
	data.contracts.contracts
} else := data.contracts

locker_classes := ["routing", "public", "business", "secret.pickup_code", "pii.phone"]

# A Taobao order carried by ZTO, waiting in a Hive Box locker.
taobao_in_locker := fx.event("LockerEvent", "hive-box", "taobao", "zto", "hive-box")

# A JD order carried by ZTO, waiting in a Hive Box locker.
jd_in_locker := fx.event("LockerEvent", "hive-box", "jd", "zto", "hive-box")

test_taobao_gets_pickup_codes_of_its_own_orders if {
	d := router.decision with input as fx.request(taobao_in_locker, "taobao", locker_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	d.deliver == true
	d.fields["secret.pickup_code"] == {"action": "keep", "rule": "contract.hive-box--taobao"}
	d.fields["pii.phone"] == {"action": "mask", "rule": "contract.hive-box--taobao"}
	d.fields.public.rule == "floor.buyer_tracking"
	d.reasons == ["contract:hive-box--taobao", "floor:buyer_tracking"]
}

test_taobao_sees_other_locker_events_but_no_pickup_codes if {
	# Phase 1: the hive-box -> taobao grant has scope `all`; the ceiling
	# still keeps other marketplaces' pickup codes away from Taobao.
	d := router.decision with input as fx.request(jd_in_locker, "taobao", locker_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	d.deliver == true
	d.fields["secret.pickup_code"] == {"action": "drop", "rule": "ceiling.secret.pickup_code"}
	d.fields.business.action == "keep"
	d.fields.public == {"action": "keep", "rule": "contract.hive-box--taobao"}
}

test_jd_gets_pickup_codes_of_its_own_orders_only if {
	own := router.decision with input as fx.request(jd_in_locker, "jd", locker_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	own.fields["secret.pickup_code"] == {"action": "keep", "rule": "contract.hive-box--jd"}
	router.decision.deliver == false with input as fx.request(taobao_in_locker, "jd", locker_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
}

test_courier_gets_locker_events_of_its_parcels_with_phone if {
	d := router.decision with input as fx.request(taobao_in_locker, "zto", locker_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	d.fields["pii.phone"] == {"action": "keep", "rule": "contract.hive-box--zto"}
	d.fields["secret.pickup_code"] == {"action": "drop", "rule": "default.deny"}
	router.decision.deliver == false with input as fx.request(taobao_in_locker, "sf-express", locker_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
}

sf_tracking_classes := ["routing", "public", "business", "staff.pii", "pii.phone"]

test_jd_does_not_get_sf_events if {
	d := router.decision with input as fx.request(fx.sf_tracking, "jd", sf_tracking_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	d.deliver == false
	d.reasons == ["deliver.none:no_grant"]
}

test_jd_gets_only_public_tracking_of_its_sf_parcels if {
	# No jd--sf-express contract: the floor alone applies.
	ev := fx.event("TrackingEvent", "sf-express", "jd", "sf-express", null)
	d := router.decision with input as fx.request(ev, "jd", sf_tracking_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	d.deliver == true
	d.fields.public.rule == "floor.buyer_tracking"
	d.fields.business == {"action": "drop", "rule": "default.deny"}
	d.reasons == ["floor:buyer_tracking"]
}

test_taobao_gets_sf_tracking_of_its_orders if {
	d := router.decision with input as fx.request(fx.sf_tracking, "taobao", sf_tracking_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	d.fields.business == {"action": "keep", "rule": "contract.sf-express--taobao"}
	d.fields["staff.pii"] == {"action": "mask", "rule": "contract.sf-express--taobao"}
	d.fields["pii.phone"] == {"action": "drop", "rule": "default.deny"}
}

test_zto_tracking_reaches_both_marketplaces_for_their_orders if {
	to_taobao := fx.event("TrackingEvent", "zto", "taobao", "zto", null)
	router.decision.fields.business.rule == "contract.taobao--zto" with input as fx.request(to_taobao, "taobao", sf_tracking_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	to_jd := fx.event("TrackingEvent", "zto", "jd", "zto", null)
	router.decision.fields.business.rule == "contract.jd--zto" with input as fx.request(to_jd, "jd", sf_tracking_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	router.decision.deliver == false with input as fx.request(to_jd, "taobao", sf_tracking_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
}

order_classes := ["routing", "public", "business", "pii.name", "pii.phone", "pii.address"]

test_courier_gets_order_pii_of_its_parcels if {
	ev := fx.event("OrderCreated", "taobao", "taobao", "sf-express", null)
	d := router.decision with input as fx.request(ev, "sf-express", order_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	every c in ["pii.name", "pii.phone", "pii.address"] {
		d.fields[c] == {"action": "keep", "rule": "contract.sf-express--taobao"}
	}
	d.quota_limits == {"pii.phone": 3000000}
	router.decision.deliver == false with input as fx.request(ev, "zto", order_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
}

test_jd_orders_go_to_zto_only_for_its_parcels if {
	ev := fx.event("OrderCreated", "jd", "jd", "zto", null)
	router.decision.fields["pii.address"].action == "keep" with input as fx.request(ev, "zto", order_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	router.decision.deliver == false with input as fx.request(ev, "sf-express", order_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
}

test_hive_box_gets_taobao_orders_with_phone_masked_unless_its_locker_and_address_coarsened if {
	no_locker := fx.event("OrderCreated", "taobao", "taobao", "zto", null)
	d := router.decision with input as fx.request(no_locker, "hive-box", order_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts
	d.deliver == true
	d.fields["pii.phone"] == {"action": "mask", "rule": "ceiling.pii.phone"}
	d.fields["pii.name"] == {"action": "mask", "rule": "contract.hive-box--taobao"}
	d.fields["pii.address"] == {"action": "coarsen", "rule": "contract.hive-box--taobao"}
	d.quota_limits == {"pii.phone": 500000}

	to_locker := fx.event("OrderCreated", "taobao", "taobao", "zto", "hive-box")
	router.decision.fields["pii.phone"].action == "keep" with input as fx.request(to_locker, "hive-box", order_classes) with data.parties as shipped_parties with data.contracts as shipped_contracts

	over := router.decision with input as object.union(fx.request(to_locker, "hive-box", order_classes), {"quota": {c: "over" | some c in ["pii.phone"]}}) with data.parties as shipped_parties with data.contracts as shipped_contracts
	over.fields["pii.phone"] == {"action": "mask", "rule": "quota.hive-box--taobao"}
}

test_couriers_tell_hive_box_about_parcels_for_its_lockers if {
	ev := fx.event("TrackingEvent", "sf-express", "jd", "sf-express", "hive-box")
	d := router.decision with input as fx.request(ev, "hive-box", ["public", "pii.phone", "pii.name"]) with data.parties as shipped_parties with data.contracts as shipped_contracts
	d.fields["pii.phone"] == {"action": "keep", "rule": "contract.hive-box--sf-express"}
	d.fields["pii.name"] == {"action": "mask", "rule": "contract.hive-box--sf-express"}
	d.quota_limits == {"pii.phone": 300000}
	router.decision.deliver == false with input as fx.request(fx.sf_tracking, "hive-box", ["public"]) with data.parties as shipped_parties with data.contracts as shipped_contracts
}

test_brief_example_input if {
	d := router.decision with input as object.union(fx.request(fx.sf_tracking, "taobao", ["routing", "public", "pii.phone"]), {"quota": {c: "over" | some c in ["pii.phone"]}}) with data.parties as shipped_parties with data.contracts as shipped_contracts
	d.deliver == true
	d.fields.routing.rule == "routing.accompanies_delivery"
	d.fields.public.rule == "floor.buyer_tracking"

	# The shipped sf-express -> taobao grant does not name pii.phone.
	d.fields["pii.phone"] == {"action": "drop", "rule": "default.deny"}
}

test_shipped_contracts_are_loaded_and_well_formed if {
	count(shipped_contracts) == 7
	count(shipped_parties) == 5
	count(lint.problems) == 0 with data.contracts as shipped_contracts with data.parties as shipped_parties
}
