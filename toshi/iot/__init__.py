"""Toshi's built-in IoT agent: the FIWARE IoT Agent provisioning API and HTTP southbound (UltraLight
2.0 and JSON). Measures reach entities only through the Writer (docs/iot.md)."""
