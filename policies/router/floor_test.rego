package px.router.floor_test

import data.px.router
import data.px.router.fixtures_test as fx

classes := ["routing", "public", "business", "pii.phone"]

test_floor_without_any_contract if {
	d := router.decision with input as fx.request(fx.sf_tracking, "taobao", classes) with data.contracts as {} with data.parties as fx.parties
	d == {
		"deliver": true,
		"fields": {
			"routing": {"action": "keep", "rule": "routing.accompanies_delivery"},
			"public": {"action": "keep", "rule": "floor.buyer_tracking"},
			"business": {"action": "drop", "rule": "default.deny"},
			"pii.phone": {"action": "drop", "rule": "default.deny"},
		},
		"quota_limits": {},
		"reasons": ["floor:buyer_tracking"],
	}
}

test_floor_covers_locker_events if {
	ev := fx.event("LockerEvent", "hive-box", "jd", "zto", "hive-box")
	d := router.decision with input as fx.request(ev, "jd", classes) with data.contracts as {} with data.parties as fx.parties
	d.deliver == true
	d.fields.public.rule == "floor.buyer_tracking"
}

test_floor_overrides_contract_withholding_public if {
	c := fx.contract("hive-box--taobao", ["hive-box", "taobao"], [fx.grant(
		"hive-box", "taobao", ["LockerEvent"], "all",
		{"public": "drop", "business": "keep"},
	)])
	ev := fx.event("LockerEvent", "hive-box", "taobao", "zto", "hive-box")
	d := router.decision with input as fx.request(ev, "taobao", classes) with data.contracts as c with data.parties as fx.parties
	d.fields.public == {"action": "keep", "rule": "floor.buyer_tracking"}
	d.fields.business == {"action": "keep", "rule": "contract.hive-box--taobao"}
	d.reasons == ["contract:hive-box--taobao", "floor:buyer_tracking"]
}

test_no_floor_for_order_created if {
	ev := fx.event("OrderCreated", "sf-express", "taobao", "sf-express", null)
	d := router.decision with input as fx.request(ev, "taobao", classes) with data.contracts as {} with data.parties as fx.parties
	d.deliver == false
}

test_no_floor_for_another_marketplace if {
	d := router.decision with input as fx.request(fx.sf_tracking, "jd", classes) with data.contracts as {} with data.parties as fx.parties
	d.deliver == false
}

test_no_floor_when_platform_is_not_a_marketplace if {
	ev := fx.event("TrackingEvent", "sf-express", "zto", "sf-express", null)
	d := router.decision with input as fx.request(ev, "zto", classes) with data.contracts as {} with data.parties as fx.parties
	d.deliver == false
}
