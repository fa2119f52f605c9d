# METADATA
# title: Bilateral contracts
# description: >-
#   Which grants of the bilateral contracts (data.contracts) apply to the
#   event in input, and the most revealing action they offer for each data
#   class.
package px.router.contracts

import data.px.router.actions

# METADATA
# title: Grant scope holds
# description: >-
#   Whether a grant's scope covers input.event for input.recipient. `all`
#   always holds; `own_orders`, `own_parcels` and `own_lockers` hold when the
#   recipient is the event's platform, courier or locker. Any other scope
#   never holds.
# scope: document
scope_holds("all") := true

scope_holds("own_orders") if input.event.platform == input.recipient

scope_holds("own_parcels") if input.event.courier == input.recipient

scope_holds("own_lockers") if input.event.locker == input.recipient

# METADATA
# title: Applying grants
# description: >-
#   Every grant that lets input.event reach input.recipient, with the id of
#   the contract that holds it.
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

# METADATA
# title: Applied contracts
# description: Ids of the contracts that have at least one applying grant.
applied := {a.contract | some a in applying}

# METADATA
# title: Over quota
# description: Whether the recipient has used up today's release quota for a class.
over_quota(class) if object.get(input, ["quota", class], "ok") == "over"

# METADATA
# title: Offer of one grant
# description: >-
#   What one applying grant offers for one class: the action it names, or the
#   quota's fallback (drop if it names none) when the grant limits the class
#   and the quota is used up.
offer(a, class, action) := {"action": object.get(a.grant.quota[class], "over", "drop"), "rule": concat(".", ["quota", a.contract])} if {
	over_quota(class)
} else := {"action": action, "rule": concat(".", ["contract", a.contract])}

# METADATA
# title: Offers
# description: >-
#   Every (class, action, rule) offered by an applying grant; offers of
#   unknown actions are left out.
offers contains {"class": class, "action": o.action, "rule": o.rule} if {
	some a in applying
	some class, action in a.grant.classes
	o := offer(a, class, action)
	actions.known(o.action)
}

# METADATA
# title: Best offer per class
# description: >-
#   For each class named by an applying grant, the most revealing offer. Ties
#   between contracts are broken by the smallest rule name.
best[class] := {"action": action, "rule": rule} if {
	some class in {o.class | some o in offers}
	top := max({actions.rank[o.action] | some o in offers; o.class == class})
	rule := min({o.rule | some o in offers; o.class == class; actions.rank[o.action] == top})
	some action, r in actions.rank
	r == top
}
