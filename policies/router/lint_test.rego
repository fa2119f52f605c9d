package px.router.lint_test

import data.px.router.fixtures_test as fx
import data.px.router.lint

test_every_problem_is_reported if {
	bad := {
		"a--b": {
			"id": "other",
			"parties": ["zto", "alibaba"],
			"notice_days": "thirty",
			"grants": [
				{
					"from": "zto", "to": "zto", "events": ["OrderCreated", "Refund"], "scope": "nearby",
					"classes": {"public": "share"}, "quota": {"pii.phone": {"per_day": 0, "over": "mask"}},
				},
				{"from": "zto", "to": "alibaba", "scope": "all", "classes": {}},
			],
		},
		"jd--zto": object.union(fx.contract("jd--zto", ["jd", "zto"], [])["jd--zto"], {"notice_days": -1}),
	}
	problems := lint.problems with data.contracts as bad with data.parties as fx.parties
	problems == {
		"a--b: id does not match the key",
		"a--b: id is not <a>--<b> of its sorted parties",
		"a--b: unknown party alibaba",
		"a--b: notice_days must be a number >= 0",
		"a--b: grant between parties outside the contract",
		"a--b: unknown events in a grant: Refund",
		"a--b: grant without events",
		"a--b: unknown scope nearby",
		"a--b: unknown action for public",
		"a--b: bad quota for pii.phone",
		"jd--zto: notice_days must be a number >= 0",
	}
}
