"""notify: MSK batches of chat-messages -> pushes to offline members' devices (SNS)."""

from mayachat import bootstrap
from mayachat.edge.kafka import kafka_batch_route

notifier = bootstrap.notifier()

handler = kafka_batch_route(notifier.notify)
