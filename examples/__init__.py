"""Examples of wecom_async in applications (not part of the package)."""
