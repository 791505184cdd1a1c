"""$connect authorizer: verifies the JWT in ?token= (see mayachat.edge.authorizer)."""

from mayachat import bootstrap
from mayachat.edge.authorizer import authorize

bootstrap.token_verifier()  # built at cold start: the JWKS client and its key cache

handler = authorize
