"""Notification delivery: the transactional outbox worker, its channels (email, webhook, WeCom,
DingTalk, MQTT), signed acknowledgement links and the platform's MQTT alert feed."""
