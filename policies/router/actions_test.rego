package px.router.actions_test

import data.px.router.actions

test_rank_orders_actions_from_drop_to_keep if {
	order := ["drop", "mask", "coarsen", "token", "keep"]
	every i, a in order {
		actions.rank[a] == i
	}
	count(actions.rank) == count(order)
}

test_keep_reveals_most_and_drop_least if {
	top := max({r | some r in actions.rank})
	bottom := min({r | some r in actions.rank})
	actions.rank.keep == top
	actions.rank.drop == bottom
	every a in object.keys(actions.rank) - {"keep"} {
		actions.rank[a] < top
	}
}

test_known_actions if {
	every a in ["keep", "token", "coarsen", "mask", "drop"] {
		actions.known(a)
	}
}

test_unknown_actions_are_not_known if {
	every a in ["share", "Keep", "", "redact", 4, null] {
		not actions.known(a)
	}
}
