# METADATA
# title: Contract lint
# description: >-
#   Consistency checks for the contract documents (data.contracts). Not used
#   by the router's decision; run through `opa test` so a malformed contract
#   fails the build instead of silently granting nothing.
package px.router.lint

import data.px.router.actions

# METADATA
# title: Known event types
# description: The event types a grant may name.
event_types := {"OrderCreated", "TrackingEvent", "LockerEvent"}

# METADATA
# title: Known scopes
# description: The scopes a grant may have (see contracts.scope_holds).
scopes := {"all", "own_orders", "own_parcels", "own_lockers"}

# METADATA
# title: Problem message
# description: >-
#   A problem report, `<contract key>: <what is wrong>`.
problem(key, what) := concat(": ", [key, what])

# METADATA
# title: Contract problems
# description: >-
#   Every problem found in data.contracts, one message per problem and
#   contract. The shipped contracts must have none.
# scope: document
problems contains problem(key, "id does not match the key") if {
	some key, c in data.contracts
	c.id != key
}

problems contains problem(key, "id is not <a>--<b> of its sorted parties") if {
	some key, c in data.contracts
	not well_named(key, c.parties)
}

problems contains problem(key, concat(" ", ["unknown party", p])) if {
	some key, c in data.contracts
	some p in c.parties
	not data.parties[p]
}

problems contains problem(key, "notice_days must be a number >= 0") if {
	some key, c in data.contracts
	not valid_notice(c)
}

problems contains problem(key, "grant between parties outside the contract") if {
	some key, c in data.contracts
	some g in c.grants
	not distinct_members(g, c.parties)
}

problems contains problem(key, concat(" ", ["unknown events in a grant:", concat(",", bad)])) if {
	some key, c in data.contracts
	some g in c.grants
	bad := {sprintf("%v", [e]) | some e in object.get(g, "events", [])} - event_types
	count(bad) > 0
}

problems contains problem(key, "grant without events") if {
	some key, c in data.contracts
	some g in c.grants
	count(object.get(g, "events", [])) == 0
}

problems contains problem(key, concat(" ", ["unknown scope", sprintf("%v", [g.scope])])) if {
	some key, c in data.contracts
	some g in c.grants
	not g.scope in scopes
}

problems contains problem(key, concat(" ", ["unknown action for", class])) if {
	some key, c in data.contracts
	some g in c.grants
	some class, action in g.classes
	not actions.known(action)
}

problems contains problem(key, concat(" ", ["bad quota for", class])) if {
	some key, c in data.contracts
	some g in c.grants
	some class, q in object.get(g, "quota", {})
	not valid_quota(q)
}

# METADATA
# title: Well-named contract
# description: Whether the key is `<a>--<b>` of the contract's two parties, sorted.
well_named(key, parties) if {
	count(parties) == 2
	parties == sort(parties)
	key == concat("--", parties)
}

# METADATA
# title: Valid notice period
# description: Whether notice_days is a number of days, zero or more.
valid_notice(c) if {
	is_number(c.notice_days)
	c.notice_days >= 0
}

# METADATA
# title: Grant between members
# description: Whether a grant goes from one party of the contract to the other.
distinct_members(g, parties) if {
	g.from in parties
	g.to in parties
	g.from != g.to
}

# METADATA
# title: Valid quota
# description: Whether a quota has a positive daily limit and a known fallback action.
valid_quota(q) if {
	is_number(q.per_day)
	q.per_day > 0
	actions.known(q.over)
}
