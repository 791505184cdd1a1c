"""presence: MSK batches of chat-presence -> debounced `presence` frames to contacts."""

from mayachat import bootstrap
from mayachat.edge.kafka import kafka_batch_route

pushes = bootstrap.presence_pushes()

handler = kafka_batch_route(pushes.push)
