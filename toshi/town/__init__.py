"""The demo town and its reference services (docs/demo.md): a Toyono-like town generated from a seed
(`generate`), loaded through Toshi's public API, a simulator publishing through the IoT agent, and
services (evacuation guidance) that use only the public HTTP APIs and subscriptions."""
