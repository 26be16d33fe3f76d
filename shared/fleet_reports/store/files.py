"""Reports bucket: rendered files and large report documents, under reports/<id>/."""

from __future__ import annotations

from typing import Any

from fleet_reports.settings import get_settings
from fleet_reports.store.aws import error_code, s3, store_call
from fleet_reports.store.errors import StoreError


def _bucket() -> str:
    return get_settings().require("reports_bucket")


def prefix(report_id: int) -> str:
    return f"reports/{report_id}/"


def put(key: str, data: bytes, content_type: str) -> None:
    with store_call("file put"):
        s3().put_object(Bucket=_bucket(), Key=key, Body=data, ContentType=content_type)


def get(key: str) -> bytes | None:
    try:
        with store_call("file get"):
            resp = s3().get_object(Bucket=_bucket(), Key=key)
            return resp["Body"].read()
    except Exception as exc:
        if error_code(exc.__cause__ or exc) in ("NoSuchKey", "404"):
            return None
        raise


def presigned_url(key: str, *, content_type: str, content_disposition: str) -> str:
    params: dict[str, Any] = {
        "Bucket": _bucket(),
        "Key": key,
        "ResponseContentType": content_type,
        "ResponseContentDisposition": content_disposition,
    }
    with store_call("presign"):
        return s3().generate_presigned_url("get_object", Params=params, ExpiresIn=get_settings().presign_seconds)


def part_key(report_id: int, run: str, part: int | str) -> str:
    """Where a tracker's part of a report split across workers is kept until its assembly (and,
    as part ``"context"``, the report's context every part and the assembly compute with)."""
    return f"{prefix(report_id)}parts/{run}/{part}.bin"


def delete_parts(report_id: int) -> int:
    """Delete the kept parts of the report (every run's); the number deleted."""
    return delete_prefix(report_id, under="parts/")


def delete_prefix(report_id: int, *, under: str = "") -> int:
    """Delete every object of the report (under ``under`` in its prefix); the number deleted."""
    deleted = 0
    paginator = s3().get_paginator("list_objects_v2")
    with store_call("file delete"):
        for page in paginator.paginate(Bucket=_bucket(), Prefix=prefix(report_id) + under):
            keys: list[Any] = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                resp = s3().delete_objects(Bucket=_bucket(), Delete={"Objects": keys, "Quiet": True})
                errors = resp.get("Errors", [])
                if errors:
                    first = errors[0]
                    raise StoreError(
                        f"file delete: {len(errors)} of {len(keys)} objects not deleted "
                        f"({first.get('Code')}: {first.get('Key')})"
                    )
                deleted += len(keys)
    return deleted
