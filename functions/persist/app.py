"""persist: MSK event-source mapping batches -> MongoDB, in bulk and idempotently."""

from mayachat import bootstrap
from mayachat.edge.kafka import kafka_batch_route

persister = bootstrap.persister()

handler = kafka_batch_route(persister.persist)
