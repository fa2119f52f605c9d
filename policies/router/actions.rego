# METADATA
# title: Disclosure actions
# description: >-
#   The actions a decision can apply to a field (keep, token, coarsen, mask,
#   drop) and how they are ordered.
package px.router.actions

# METADATA
# title: Action rank
# description: >-
#   How much of a value each action lets through. keep reveals everything and
#   drop nothing. mask, coarsen and token reveal a comparable part of the value;
#   they are ranked token > coarsen > mask only so that a choice between them is
#   deterministic (a token still lets the recipient join records, a coarsened
#   value keeps its rough shape, a mask keeps the least).
rank := {
	"drop": 0,
	"mask": 1,
	"coarsen": 2,
	"token": 3,
	"keep": 4,
}

# METADATA
# title: Known action
# description: Whether x is one of the known actions.
known(x) if rank[x]
