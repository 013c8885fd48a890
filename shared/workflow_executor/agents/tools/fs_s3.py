"""``s3://bucket/key`` objects for the ``filesystem`` tool, through boto3 (imported lazily).

Only buckets (or ``bucket/prefix``) on the operator's ``WFX_S3_ALLOW`` are reachable; ``..``
segments are refused like on local paths. Credentials come from boto3's own chain; errors
carry the S3 error code, never a credential.
"""

from __future__ import annotations

import fnmatch
import threading
from typing import Any

from ...errors import InvalidArgument, NotFound, PathNotAllowed, ToolFailed, Transient

MAX_KEYS = 1000
MAX_SEARCH_OBJECTS = 200


class S3Objects:
    def __init__(self, allow: tuple[str, ...], endpoint_url: str | None, timeout_s: float) -> None:
        self.allow = tuple(a.removeprefix("s3://").strip("/") for a in allow)
        self.endpoint_url = endpoint_url
        self.timeout_s = timeout_s
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    import boto3
                    from botocore.config import Config
                except ImportError:
                    raise ToolFailed("s3:// paths need boto3, which this server does not have",
                                     fix="the operator can pip install boto3") from None
                cfg = Config(connect_timeout=self.timeout_s, read_timeout=self.timeout_s,
                             retries={"max_attempts": 2})
                self._client = boto3.client("s3", endpoint_url=self.endpoint_url, config=cfg)
            return self._client

    def split(self, url: str, *, folder: bool = False) -> tuple[str, str]:
        """(bucket, key) of an allowed ``s3://`` URL. Errors: PathNotAllowed."""
        rest = url.strip()[len("s3://"):]
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise InvalidArgument(f"'{url[:80]}' names no bucket", fix="write s3://bucket/key")
        if ".." in key.split("/"):
            raise PathNotAllowed(f"'..' is not allowed in paths ('{url[:80]}')", fix="name the object's key plainly")
        if folder and key and not key.endswith("/"):
            key += "/"
        for entry in self.allow:
            b, _, prefix = entry.partition("/")
            if b == bucket and (not prefix or key.startswith(prefix.rstrip("/") + "/") or key == prefix):
                return bucket, key
        allowed = ", ".join(f"s3://{a}" for a in self.allow) or "none"
        raise PathNotAllowed(f"s3://{bucket}/{key} is not in an allowed bucket or prefix (allowed: {allowed})",
                             fix="the operator can allow it with WFX_S3_ALLOW=bucket or bucket/prefix")

    def _call(self, what: str, url: str, fn: Any, ok_codes: tuple[str, ...] = (), **kw: Any) -> Any:
        """``fn(**kw)``; None for an S3 error code in ``ok_codes``; other errors mapped to ours."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kw)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "error"))
            if code in ok_codes:
                return None
            if code in ("NoSuchKey", "NoSuchBucket", "404", "NotFound"):
                raise NotFound(f"{url} does not exist", fix="list the prefix to see what is there") from None
            if code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                raise PathNotAllowed(f"S3 refused to {what} {url} ({code})",
                                     fix="ask the operator about the server's S3 permissions") from None
            raise ToolFailed(f"S3 could not {what} {url} ({code})") from None
        except BotoCoreError as exc:
            raise Transient(f"S3 could not be reached to {what} {url} ({type(exc).__name__})",
                            fix="try again later") from None

    def list_directory(self, url: str, recursive: bool) -> dict[str, Any]:
        bucket, prefix = self.split(url, folder=True)
        kw: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": MAX_KEYS}
        if not recursive:
            kw["Delimiter"] = "/"
        page = self._call("list", url, self.client().list_objects_v2, **kw)
        entries: list[dict[str, Any]] = [{"name": p["Prefix"][len(prefix):].rstrip("/"), "type": "directory"}
                                         for p in page.get("CommonPrefixes", [])]
        entries += [{"name": o["Key"][len(prefix):], "type": "file", "size": o["Size"]}
                    for o in page.get("Contents", []) if o["Key"] != prefix]
        return {"path": f"s3://{bucket}/{prefix}", "entries": entries, "truncated": bool(page.get("IsTruncated"))}

    def read_file(self, url: str, offset: int, length: int) -> dict[str, Any]:
        bucket, key = self.split(url)
        obj = self._call("read", url, self.client().get_object, ok_codes=("InvalidRange",), Bucket=bucket,
                         Key=key, Range=f"bytes={offset}-{offset + length}")
        if obj is None:  # an empty object, or an offset past its end
            return {"path": url, "content": "", "size_bytes": None, "offset": offset, "truncated": False}
        size = int(str(obj.get("ContentRange", "")).rpartition("/")[2] or obj.get("ContentLength", 0))
        data = obj["Body"].read(length + 1)
        more = len(data) > length
        try:
            text = data[:length].decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgument(f"{url} is not UTF-8 text", fix="read text objects only") from None
        out: dict[str, Any] = {"path": url, "content": text, "size_bytes": size, "offset": offset, "truncated": more}
        if more:
            out["next_offset"] = offset + length
        return out

    def write_file(self, url: str, content: str, append: bool) -> dict[str, Any]:
        bucket, key = self.split(url)
        if not key or key.endswith("/"):
            raise InvalidArgument(f"{url} names no object", fix="write s3://bucket/key")
        data = content.encode("utf-8")
        if append:
            try:
                old = self._call("read", url, self.client().get_object, Bucket=bucket, Key=key)["Body"].read()
            except NotFound:
                old = b""
            data = old + data
        self._call("write", url, self.client().put_object, Bucket=bucket, Key=key, Body=data)
        return {"path": url, "bytes_written": len(content.encode("utf-8")), "appended": append}

    def search(self, url: str, pattern: str | None, text: str | None, max_results: int,
               max_file_bytes: int) -> dict[str, Any]:
        bucket, prefix = self.split(url, folder=True)
        page = self._call("list", url, self.client().list_objects_v2, Bucket=bucket, Prefix=prefix, MaxKeys=MAX_KEYS)
        matches: list[dict[str, Any]] = []
        read = 0
        for o in page.get("Contents", []):
            key = o["Key"]
            rel = key[len(prefix):]
            if pattern and not (fnmatch.fnmatch(rel.rpartition("/")[2], pattern) or fnmatch.fnmatch(rel, pattern)):
                continue
            if text is None:
                matches.append({"path": f"s3://{bucket}/{key}"})
            else:
                read += 1
                if read > MAX_SEARCH_OBJECTS:
                    return {"path": f"s3://{bucket}/{prefix}", "matches": matches, "truncated": True}
                obj = self._call("read", f"s3://{bucket}/{key}", self.client().get_object, ok_codes=("InvalidRange",),
                                 Bucket=bucket, Key=key, Range=f"bytes=0-{max_file_bytes - 1}")
                body = obj["Body"].read() if obj is not None else b""
                low = text.lower()
                for i, line in enumerate(body.decode("utf-8", "replace").splitlines(), 1):
                    if low in line.lower():
                        matches.append({"path": f"s3://{bucket}/{key}", "line": i, "text": line.strip()[:300]})
            if len(matches) >= max_results:
                return {"path": f"s3://{bucket}/{prefix}", "matches": matches[:max_results], "truncated": True}
        return {"path": f"s3://{bucket}/{prefix}", "matches": matches, "truncated": bool(page.get("IsTruncated"))}
