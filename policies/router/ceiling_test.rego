package px.router.ceiling_test

import data.px.router.ceiling
import data.px.router.fixtures_test as fx

# A ZTO parcel of a Taobao order sitting in a Hive Box locker.
in_locker := fx.event("LockerEvent", "hive-box", "taobao", "zto", "hive-box")

# Each case: [class, action a contract asks for, recipient, action let through].
# (`with` must stay in rule bodies, not helper functions, or the wasm build of
# policies/router rejects the test module.)
limits_hold(cases) if {
	every c in cases {
		ceiling.limit(c[0], c[1]) == c[3] with input as {"event": in_locker, "recipient": c[2]}
			with data.parties as fx.parties
	}
}

test_phone_in_full_only_to_courier_and_locker if {
	limits_hold([
		["pii.phone", "keep", "zto", "keep"],
		["pii.phone", "keep", "hive-box", "keep"],
		["pii.phone", "keep", "taobao", "mask"],
		["pii.phone", "keep", "sf-express", "mask"],
		["pii.phone", "token", "taobao", "token"],
		["pii.phone", "mask", "taobao", "mask"],
	])
}

test_pickup_code_only_to_locker_and_platform if {
	limits_hold([
		["secret.pickup_code", "keep", "hive-box", "keep"],
		["secret.pickup_code", "keep", "taobao", "keep"],
		["secret.pickup_code", "keep", "zto", "drop"],
		["secret.pickup_code", "mask", "zto", "drop"],
		["secret.pickup_code", "token", "jd", "drop"],
		["secret.pickup_code", "coarsen", "jd", "drop"],
		["secret.pickup_code", "drop", "jd", "drop"],
	])
}

test_address_in_full_to_courier_locker_platform if {
	limits_hold([
		["pii.address", "keep", "zto", "keep"],
		["pii.address", "keep", "hive-box", "keep"],
		["pii.address", "keep", "taobao", "keep"],
		["pii.address", "keep", "jd", "coarsen"],
		["pii.address", "keep", "sf-express", "coarsen"],
		["pii.address", "mask", "jd", "mask"],
		["pii.address", "token", "jd", "token"],
	])
}

test_name_in_full_to_courier_locker_platform if {
	limits_hold([
		["pii.name", "keep", "zto", "keep"],
		["pii.name", "keep", "hive-box", "keep"],
		["pii.name", "keep", "taobao", "keep"],
		["pii.name", "keep", "jd", "mask"],
		["pii.name", "token", "jd", "token"],
	])
}

test_staff_pii_in_full_only_to_courier if {
	limits_hold([
		["staff.pii", "keep", "zto", "keep"],
		["staff.pii", "keep", "hive-box", "mask"],
		["staff.pii", "keep", "taobao", "mask"],
		["staff.pii", "coarsen", "taobao", "coarsen"],
	])
}

test_public_business_routing_uncapped if {
	limits_hold([
		["public", "keep", "jd", "keep"],
		["business", "keep", "jd", "keep"],
		["routing", "keep", "jd", "keep"],
	])
}

test_unknown_class_always_dropped if {
	limits_hold([
		["pii.iris", "keep", "zto", "drop"],
		["pii.iris", "mask", "hive-box", "drop"],
	])
}

test_role_needs_the_right_kind_of_party if {
	# An event that names a marketplace as its courier does not give that
	# marketplace the courier's access.
	odd := fx.event("TrackingEvent", "zto", "jd", "taobao", null)
	a := ceiling.limit("pii.phone", "keep") with input as {"event": odd, "recipient": "taobao"}
		with data.parties as fx.parties
	a == "mask"
}
