"""The id patterns of every boundary, as plain strings: mayachat.fields makes them pydantic
types; the token check and the edge use them without importing pydantic."""

# Tokens' `sub` (refused at the door otherwise), REST paths, frames and log records alike.
USER_ID_PATTERN = r"^[A-Za-z0-9_.@:|+-]{1,128}$"
ROOM_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
CLIENT_MSG_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
MESSAGE_ID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"  # a ULID (mayachat.ids)
MAX_SEQ = 2**53  # a JSON number every client reads exactly
