# METADATA
# title: Router decision
# description: >-
#   The per-field disclosure decision for one (event, recipient) pair. The
#   entrypoint is data.px.router.decision (px/router/decision), compiled to
#   Wasm by services/policy-build.
package px.router

import data.px.router.actions
import data.px.router.ceiling
import data.px.router.contracts
import data.px.router.floor

# METADATA
# title: Decision
# description: >-
#   Whether input.event is delivered to input.recipient, the action and the
#   rule behind it for each of input.fields, the daily quota limits per class
#   and the reasons for delivering or not.
# entrypoint: true
decision := {
	"deliver": deliver,
	"fields": fields,
	"quota_limits": quota_limits,
	"reasons": reasons,
}

# METADATA
# title: Refusal
# description: >-
#   Why the event is not delivered, if it is not: unknown_recipient,
#   recipient_is_source or no_grant (no applying grant and no floor).
refusal := "unknown_recipient" if {
	not data.parties[input.recipient]
} else := "recipient_is_source" if {
	input.recipient == input.event.source
} else := "no_grant" if {
	count(contracts.applying) == 0
	not floor.buyer_tracking
}

# METADATA
# title: Deliver
# description: Whether the event reaches the recipient at all; only when nothing refuses it.
# scope: document
default deliver := false

deliver if not refusal

# METADATA
# title: Grounds
# description: What the delivery rests on, the contracts with applying grants and the floor.
# scope: document
grounds contains concat(":", ["contract", id]) if some id in contracts.applied

grounds contains "floor:buyer_tracking" if floor.buyer_tracking

# METADATA
# title: Reasons
# description: >-
#   The sorted grounds of a delivery, or the single deliver.none reason of a
#   refusal.
reasons := [concat(":", ["deliver.none", refusal])] if {
	not deliver
} else := sort(grounds)

# METADATA
# title: Field decisions
# description: >-
#   The action and rule for each field name in input.fields. Field names are
#   expected to be unique; if one repeats, the least revealing of its
#   verdicts wins.
fields := {name: field_decision(name) | some f in input.fields; name := f.name}

# METADATA
# title: Field decision
# description: The least revealing verdict among the fields named `name`.
field_decision(name) := v if {
	verdicts := {field_verdict(f) | some f in input.fields; f.name == name}
	low := min({actions.rank[x.action] | some x in verdicts})
	v := min({x | some x in verdicts; actions.rank[x.action] == low})
}

# METADATA
# title: Field verdict
# description: >-
#   The verdict for one field, first that holds: drop everything when not
#   delivered, keep routing fields, keep public fields under the floor, the
#   contracts' best offer under the ceiling, or drop by default.
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

# METADATA
# title: Capped offer
# description: >-
#   Applies the regulator ceiling to the contracts' offer for a class; the
#   rule becomes ceiling.<class> when the ceiling changes the action.
capped(class, offer) := {"action": limited, "rule": concat(".", ["ceiling", class])} if {
	limited := ceiling.limit(class, offer.action)
	limited != offer.action
} else := offer

# METADATA
# title: Quota limits
# description: >-
#   Per class, the smallest daily limit among the applying grants' quotas;
#   empty when the event is not delivered.
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
