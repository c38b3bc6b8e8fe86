"""Who is calling: API keys of service accounts, bearer JWTs (Toshi's own or an identity provider's),
and Toshi's signing key. The policy engine decides what a Principal may do; this package only says who
it is."""

from toshi.auth.policy import policy_engine_of  # noqa: E402,F401  (the catalogue opens datasets with rules)
from toshi.auth.principal import ANONYMOUS  # noqa: E402,F401  (the catalogue reads as the public does)
