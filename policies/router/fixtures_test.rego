# Shared fixtures for the unit tests: a fixed party list and builders for
# events, grants and contracts, so unit tests do not depend on shipped data.
package px.router.fixtures_test

parties := {
	"taobao": {"kind": "marketplace"},
	"jd": {"kind": "marketplace"},
	"sf-express": {"kind": "courier"},
	"zto": {"kind": "courier"},
	"hive-box": {"kind": "locker"},
}

event(type, source, platform, courier, locker) := {
	"type": type,
	"source": source,
	"platform": platform,
	"courier": courier,
	"locker": locker,
}

# A TrackingEvent published by SF for a Taobao order, no locker involved.
sf_tracking := event("TrackingEvent", "sf-express", "taobao", "sf-express", null)

grant(from, to, events, scope, classes) := {
	"from": from,
	"to": to,
	"events": events,
	"scope": scope,
	"classes": classes,
}

contract(id, members, grants) := {id: {"id": id, "parties": members, "notice_days": 30, "grants": grants}}

# One field per data class, named after the class.
fields_of(classes) := [{"name": c, "class": c} | some c in classes]

request(ev, recipient, classes) := {
	"event": ev,
	"recipient": recipient,
	"fields": fields_of(classes),
}
