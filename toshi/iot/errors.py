"""IoT Agent errors: `{"name": ..., "message": ...}` with the names and status codes of
telefonicaid/iotagent-node-lib (lib/errors.js)."""

from __future__ import annotations


class IotError(Exception):
    def __init__(self, status: int, name: str, message: str):
        super().__init__(message)
        self.status, self.name, self.message = status, name, message

    def body(self) -> dict:
        return {"name": self.name, "message": self.message}


def wrong_syntax(msg: str) -> IotError:
    return IotError(400, "WRONG_SYNTAX", f"Wrong syntax in request: {msg}")


def missing_headers(msg: str) -> IotError:
    return IotError(400, "MISSING_HEADERS", f"Some headers were missing from the request: {msg}")


def device_not_found(device_id: str) -> IotError:
    return IotError(404, "DEVICE_NOT_FOUND", f"No device was found with id:{device_id}")


def duplicate_device(device_id: str) -> IotError:
    return IotError(409, "DUPLICATE_DEVICE_ID", f"A device with the same pair (Service, DeviceId) was found:{device_id}")


def duplicate_group(resource: str, apikey: str) -> IotError:
    return IotError(409, "DUPLICATE_GROUP",
                    f"A device configuration already exists for resource {resource} and API Key {apikey}")


def group_not_found(fields: str = "", values: str = "") -> IotError:
    message = f"Couldn't find device group for fields: {fields} and values: {values}" if fields else \
        "Couldn't find device group"
    return IotError(404, "DEVICE_GROUP_NOT_FOUND", message)


def bad_payload(msg: str) -> IotError:
    return IotError(400, "BAD_REQUEST", f"Malformed measure payload: {msg}")


def bad_timestamp(value: str) -> IotError:
    return IotError(400, "BAD_TIMESTAMP", f"Invalid ISO8601 timestamp[{value}]")
