"""Who is calling: API keys of service accounts, bearer JWTs (Toshi's own or an identity provider's),
and Toshi's signing key. The policy engine decides what a Principal may do; this package only says who
it is."""
