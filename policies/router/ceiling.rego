# METADATA
# title: Regulator ceiling
# description: What no contract may share, whatever it says.
package px.router.ceiling

# METADATA
# title: Uncapped classes
# description: Classes the regulator does not restrict.
uncapped := {"routing", "public", "business"}

# METADATA
# title: Caps on restricted classes
# description: >-
#   Restricted classes. Parties that hold one of the `full_to` roles in the event
#   may receive the class as the contract says; to anyone else, an action listed
#   in `withheld` is replaced by `fallback`. A class missing from both
#   `uncapped` and `caps` (an unknown class) is always dropped.
caps := {
	"pii.phone": {
		"full_to": {"courier", "locker"},
		"withheld": {"keep"},
		"fallback": "mask",
	},
	"secret.pickup_code": {
		"full_to": {"locker", "platform"},
		"withheld": {"keep", "token", "coarsen", "mask"},
		"fallback": "drop",
	},
	"pii.address": {
		"full_to": {"courier", "locker", "platform"},
		"withheld": {"keep"},
		"fallback": "coarsen",
	},
	"pii.name": {
		"full_to": {"courier", "locker", "platform"},
		"withheld": {"keep"},
		"fallback": "mask",
	},
	"staff.pii": {
		"full_to": {"courier"},
		"withheld": {"keep"},
		"fallback": "mask",
	},
}

# METADATA
# title: Party kind per role
# description: The kind of party that may fill each role of an event.
role_kind := {"courier": "courier", "locker": "locker", "platform": "marketplace"}

# METADATA
# title: Recipient holds a role
# description: >-
#   Whether the recipient fills `role` (event.courier, event.locker or
#   event.platform) in input.event and is the right kind of party for it.
holds_role(role) if {
	input.event[role] == input.recipient
	data.parties[input.recipient].kind == role_kind[role]
}

# METADATA
# title: Full access to a class
# description: Whether the recipient may receive the class in full.
full_access(class) if {
	some role in caps[class].full_to
	holds_role(role)
}

# METADATA
# title: Ceiling limit
# description: >-
#   The action the regulator lets through when a contract asks for `action`
#   on a field of `class`: unchanged for uncapped classes and for recipients
#   with full access, drop for unknown classes, and the class's fallback for a
#   withheld action otherwise.
limit(class, action) := action if {
	class in uncapped
} else := "drop" if {
	not caps[class]
} else := action if {
	full_access(class)
} else := caps[class].fallback if {
	action in caps[class].withheld
} else := action
