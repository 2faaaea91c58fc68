"""What follows an alert's transitions: the sink that turns each into notifications and the
platform message, and the periodic alert jobs (offline sensors, escalation, re-notification)."""
