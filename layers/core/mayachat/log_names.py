"""The names a log record is known by, without its schema (mayachat.log_schema, pydantic):
the send path writes records with these and never imports the schema."""

# The header that carries a room's stable seq on a message record, and the event of a record
# that carries only that (docs/architecture.md, G2).
STABLE_SEQ_HEADER = "stableSeq"
STABLE_EVENT = "room.stable"
MESSAGE_CREATED = "message.created"
