"""Who is calling: API keys of service accounts, bearer JWTs (Toshi's own or an identity provider's),
and Toshi's signing key. The policy engine decides what a Principal may do; this package only says who
it is."""

from toshi.auth.policy import policy_engine_of  # noqa: E402,F401  (the catalogue opens datasets with rules)
from toshi.auth.principal import ANONYMOUS  # noqa: E402,F401  (the catalogue reads as the public does)


def oidc_client_for(app, redirect_uri: str) -> str | None:
    """The client_id of the registered OpenID Connect client allowed this exact redirect URI (None:
    none is). The portal finds its own registration so: a town registers it once with
    `toshi client register --redirect-uri https://<town>/portal/callback`."""
    for client in app.state.auth.provider.clients.all():
        if redirect_uri in client["redirect_uris"]:
            return client["client_id"]
    return None
