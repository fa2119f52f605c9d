# Bilateral contracts (data.contracts): which grants apply to the event in
# input, and the most revealing action they offer for each data class.
package px.contracts

import data.px.actions

# Whether a grant's scope covers input.event for input.recipient.
scope_holds("all") := true

scope_holds("own_orders") if input.event.platform == input.recipient

scope_holds("own_parcels") if input.event.courier == input.recipient

scope_holds("own_lockers") if input.event.locker == input.recipient

# Every grant that lets input.event reach input.recipient, with the id of the
# contract that holds it.
applying contains {"contract": id, "grant": grant} if {
	some id, contract in data.contracts
	some grant in contract.grants
	grant.from == input.event.source
	grant.to == input.recipient
	grant.from in contract.parties
	grant.to in contract.parties
	input.event.type in grant.events
	scope_holds(grant.scope)
}

# Ids of the contracts that have at least one applying grant.
applied := {a.contract | some a in applying}

# Whether the recipient has used up today's release quota for a class.
over_quota(class) if object.get(input, ["quota", class], "ok") == "over"

# What one applying grant offers for one class: the action it names, or the
# quota's fallback when the grant limits the class and the quota is used up.
offer(a, class, action) := {"action": object.get(a.grant.quota[class], "over", "drop"), "rule": concat(".", ["quota", a.contract])} if {
	over_quota(class)
} else := {"action": action, "rule": concat(".", ["contract", a.contract])}

offers contains {"class": class, "action": o.action, "rule": o.rule} if {
	some a in applying
	some class, action in a.grant.classes
	o := offer(a, class, action)
	actions.known(o.action)
}

# For each class named by an applying grant, the most revealing offer. Ties
# between contracts are broken by the smallest rule name.
best[class] := {"action": action, "rule": rule} if {
	some class in {o.class | some o in offers}
	top := max({actions.rank[o.action] | some o in offers; o.class == class})
	rule := min({o.rule | some o in offers; o.class == class; actions.rank[o.action] == top})
	some action, r in actions.rank
	r == top
}
