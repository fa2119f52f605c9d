# METADATA
# title: Regulator floor
# description: What no contract may withhold.
package px.router.floor

# METADATA
# title: Tracking event types
# description: Event types that report on a parcel's progress.
tracking_types := {"TrackingEvent", "LockerEvent"}

# METADATA
# title: Buyer tracking floor
# description: >-
#   The marketplace an order came from always follows its parcel: it receives
#   every tracking and locker event of its orders, with all public fields.
buyer_tracking if {
	input.event.type in tracking_types
	input.recipient == input.event.platform
	data.parties[input.recipient].kind == "marketplace"
}
