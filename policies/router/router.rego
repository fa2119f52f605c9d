# Entrypoint: data.px.router.decision, the per-field disclosure decision for
# one (event, recipient) pair.
package px.router

import data.px.actions
import data.px.ceiling
import data.px.contracts
import data.px.floor

decision := {
	"deliver": deliver,
	"fields": fields,
	"quota_limits": quota_limits,
	"reasons": reasons,
}

# Why the event is not delivered, if it is not.
refusal := "unknown_recipient" if {
	not data.parties[input.recipient]
} else := "recipient_is_source" if {
	input.recipient == input.event.source
} else := "no_grant" if {
	count(contracts.applying) == 0
	not floor.buyer_tracking
}

default deliver := false

deliver if not refusal

# What the delivery rests on: the contracts with applying grants and the floor.
grounds contains concat(":", ["contract", id]) if some id in contracts.applied

grounds contains "floor:buyer_tracking" if floor.buyer_tracking

reasons := [concat(":", ["deliver.none", refusal])] if {
	not deliver
} else := sort(grounds)

# Field names are expected to be unique; if one repeats, the least revealing
# of its verdicts wins.
fields := {name: field_decision(name) | some f in input.fields; name := f.name}

field_decision(name) := v if {
	verdicts := {field_verdict(f) | some f in input.fields; f.name == name}
	low := min({actions.rank[x.action] | some x in verdicts})
	v := min({x | some x in verdicts; actions.rank[x.action] == low})
}

field_verdict(f) := {"action": "drop", "rule": "deliver.none"} if {
	not deliver
} else := {"action": "keep", "rule": "routing.accompanies_delivery"} if {
	f.class == "routing"
} else := {"action": "keep", "rule": "floor.buyer_tracking"} if {
	f.class == "public"
	floor.buyer_tracking
} else := capped(f.class, contracts.best[f.class]) if {
	contracts.best[f.class]
} else := {"action": "drop", "rule": "default.deny"}

# Applies the regulator ceiling to the contracts' offer for a class.
capped(class, offer) := {"action": limited, "rule": concat(".", ["ceiling", class])} if {
	limited := ceiling.limit(class, offer.action)
	limited != offer.action
} else := offer

# Per class, the smallest daily limit among the applying grants' quotas.
quota_limits := {class: min(limits) |
	some a in contracts.applying
	some class, _ in a.grant.quota
	limits := {q.per_day |
		some b in contracts.applying
		q := b.grant.quota[class]
		is_number(q.per_day)
	}
	count(limits) > 0
} if {
	deliver
} else := {}
