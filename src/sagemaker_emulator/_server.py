"""One loopback HTTP port for everything: SageMaker here, every other AWS service from moto, plus a control
API under ``/_emulator/`` so another process can read the request log and arm faults."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote

from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import _autoscaling, _cloudwatch, _logs
from ._behaviour import Behaviour
from ._faults import Faults, apply_fault
from ._sagemaker import ApiError, SageMakerBackend, Timings

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
CONTROL_PREFIX = "/_emulator/"

# SigV4 signing names that differ from the names people use for the service.
_SERVICE_BY_SIGNING_NAME = {"monitoring": "cloudwatch"}
# A REST service (S3) is logged by method and path: HEAD and GET read.
_READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "HEAD ", "GET ")
# SageMaker Runtime is rest-json and signs as "sagemaker" too (botocore's sagemaker-runtime model: signingName
# "sagemaker"); its operations are told from SageMaker's (JSON 1.1, X-Amz-Target) by their paths.
_ASYNC_INVOCATION = re.compile(r"^/endpoints/(?P<name>[^/]+)/async-invocations$")
# What an armed server error answers. AWS's common errors (API reference, "Common Errors"): InternalFailure, HTTP
# 500, "The request processing has failed because of an unknown error, exception or failure".
_INTERNAL_ERROR = "The service encountered an internal error."
_INLINE_BODY_MAX = 128_000  # AsyncBodyBlob's max (botocore's sagemaker-runtime model)

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class RequestRecord:
    """One AWS request the emulator answered."""

    service: str
    operation: str
    params: dict[str, Any]
    time: float
    region: str
    status: int = 200

    @property
    def is_write(self) -> bool:
        return not self.operation.startswith(_READ_PREFIXES)


@dataclass
class _RequestLog:
    records: list[RequestRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: RequestRecord) -> None:
        with self.lock:
            self.records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self.lock:
            return list(self.records)

    def clear(self) -> None:
        with self.lock:
            self.records.clear()

    # A request is logged once it is answered, so a client killed mid-call can leave one being handled that the
    # log does not show yet; these let a caller wait until nothing is (see Emulator.wait_idle).
    in_flight: int = 0
    last_seen: float = 0.0

    def begin(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.last_seen = time.monotonic()

    def end(self) -> None:
        with self.lock:
            self.in_flight -= 1
            self.last_seen = time.monotonic()

    def quiet_for(self) -> float | None:
        """Seconds since the last request began or ended, or None while one is being handled."""
        with self.lock:
            return None if self.in_flight else time.monotonic() - self.last_seen


def _credential_scope(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """(region, signing name) from a SigV4 Authorization header, like the real endpoint reads them."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    marker = "Credential="
    if marker not in auth:
        return None, None
    scope = auth.split(marker, 1)[1].split(",", 1)[0].strip().split("/")
    if len(scope) != 5:
        return None, None
    return scope[2], scope[3]


def _reset_moto() -> None:
    moto_api_backend.reset()


class _QuietHandler(WSGIRequestHandler):
    """Keeps per-request access lines out of test and demo output."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class Emulator:
    """SageMaker's endpoint lifecycle plus moto's other AWS services on one loopback port.

    Only one Emulator should run per process at a time: moto's state is process-global and is reset on start.
    """

    def __init__(
        self,
        timings: Timings | None = None,
        account_id: str = DEFAULT_ACCOUNT_ID,
        behaviour: Behaviour | None = None,
    ) -> None:
        self.timings = timings or Timings()
        self.account_id = account_id
        self.behaviour = behaviour or Behaviour()
        _cloudwatch.install()
        _autoscaling.install(self.behaviour)
        _logs.install(self.behaviour)
        self._sagemaker = SageMakerBackend(account_id, self.timings, self.behaviour)
        self._log = _RequestLog()
        self._moto_app: Callable[[dict[str, Any], StartResponse], Iterable[bytes]] | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self, port: int = 0, host: str = "127.0.0.1") -> Emulator:
        if self._server is not None:
            raise RuntimeError("emulator already started")
        self.reset()
        self._moto_app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(host, port, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns promptly
            name="sagemaker-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Emulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget every resource (SageMaker's and moto's), every armed fault and the request log."""
        self._sagemaker.reset()
        _reset_moto()
        self._log.clear()

    # Faults and the request log

    @property
    def faults(self) -> Faults:
        return self._sagemaker.faults

    @property
    def sagemaker_operations(self) -> frozenset[str]:
        """The SageMaker operations the emulator answers (any other one answers UnknownOperationException)."""
        return self._sagemaker.operations

    @property
    def requests(self) -> list[RequestRecord]:
        return self._log.snapshot()

    def operations(self, service: str | None = None) -> list[str]:
        return [r.operation for r in self.requests if service is None or r.service == service]

    def write_calls(self, service: str | None = None) -> list[RequestRecord]:
        """Requests that may change something: anything but Describe*/List*/Get*/BatchGet*."""
        return [r for r in self.requests if r.is_write and (service is None or r.service == service)]

    def clear_requests(self) -> None:
        self._log.clear()

    def wait_idle(self, quiet: float = 0.25, timeout: float = 30) -> None:
        """Until no request has been handled for ``quiet`` seconds: a call a killed client had already sent is
        answered (and logged) before the caller reads the log. ``quiet`` outlasts the server's accept poll."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            idle = self._log.quiet_for()
            if idle is not None and idle >= quiet:
                return
            time.sleep(0.02)
        raise TimeoutError(f"the emulator was still answering requests after {timeout} s")

    # WSGI

    def _wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        self._log.begin()
        try:
            return self._dispatch(environ, start_response)
        finally:
            self._log.end()

    def _dispatch(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            response = self._control(Request(environ))
            return response(environ, start_response)
        body = _read_body(environ)
        region, signing_name = _credential_scope(environ)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("SageMaker."):
            return self._answer_sagemaker(target.split(".", 1)[1], region or DEFAULT_REGION, body)(
                environ, start_response
            )
        invocation = _ASYNC_INVOCATION.match(path)
        if signing_name == "sagemaker" and invocation and environ.get("REQUEST_METHOD") == "POST":
            self._sagemaker.advance()
            return self._invoke_async(environ, unquote(invocation["name"]), region or DEFAULT_REGION, body)(
                environ, start_response
            )
        return self._forward(
            environ,
            start_response,
            body=body,
            region=region,
            signing_name=signing_name,
            target=target,
            path=path,
        )

    def _answer_sagemaker(self, operation: str, region: str, body: bytes) -> Response:
        try:
            params = json.loads(body or b"{}")
            if not isinstance(params, dict):
                raise ValueError("not an object")
        except ValueError:
            params = {}
            status, payload = 400, {"__type": "SerializationException", "message": "Malformed JSON body."}
        else:
            failure = self.faults.take_server_error(operation)
            try:
                if failure is None or failure.after_acting:
                    status, payload = 200, self._sagemaker.handle(operation, region, params)
                if failure is not None:  # not acted on, or acted on with its answer lost
                    raise ApiError(failure.code, _INTERNAL_ERROR, status=failure.status)
            except ApiError as error:
                status, payload = error.status, {"__type": error.error_type, "message": error.message}
        self._log.add(RequestRecord("sagemaker", operation, params, time.time(), region, status))
        return Response(
            json.dumps(payload),
            status=status,
            headers={"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4())},
        )

    def _invoke_async(self, environ: dict[str, Any], endpoint_name: str, region: str, body: bytes) -> Response:
        """SageMaker Runtime's InvokeEndpointAsync (see _invocations for what it does and its sources)."""
        input_location = environ.get("HTTP_X_AMZN_SAGEMAKER_INPUTLOCATION", "")
        params: dict[str, Any] = {
            "EndpointName": endpoint_name,
            "ContentType": environ.get("HTTP_X_AMZN_SAGEMAKER_CONTENT_TYPE", ""),
            "InputLocation": input_location,
            "BodyBytes": len(body),
        }
        status, headers, payload = 202, {}, {}
        if bool(input_location) == bool(body):
            status, payload = 400, {"__type": "ValidationError", "message": "Provide either Body or InputLocation."}
        elif len(body) > _INLINE_BODY_MAX:
            status, payload = (
                400,
                {
                    "__type": "ValidationError",
                    "message": f"Body is larger than {_INLINE_BODY_MAX} bytes; use InputLocation.",
                },
            )
        else:
            try:
                inference_id, output, failure = self._sagemaker.invoke_async(region, endpoint_name, body)
            except ApiError as error:
                status, payload = error.status, {"__type": error.error_type, "message": error.message}
            else:
                payload = {"InferenceId": inference_id}
                headers = {"X-Amzn-SageMaker-OutputLocation": output}
                if failure:
                    headers["X-Amzn-SageMaker-FailureLocation"] = failure
        self._log.add(RequestRecord("sagemaker", "InvokeEndpointAsync", params, time.time(), region, status))
        return Response(
            json.dumps(payload),
            status=status,
            headers={"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4()), **headers}
            | ({"x-amzn-ErrorType": str(payload["__type"])} if status >= 400 else {}),
        )

    def _forward(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        *,
        body: bytes,
        region: str | None,
        signing_name: str | None,
        target: str,
        path: str,
    ) -> Iterable[bytes]:
        assert self._moto_app is not None
        # SageMaker's lifecycle moves on when time does, not only on SageMaker requests: what it does to other
        # services (an alarm going off, a fleet's container logs) is there for the next CloudWatch read.
        self._sagemaker.advance()
        service = _SERVICE_BY_SIGNING_NAME.get(signing_name or "", signing_name or "unknown")
        content_type = environ.get("CONTENT_TYPE", "")
        if environ.get("HTTP_CONTENT_ENCODING", "") == "gzip":
            # botocore gzips large enough requests of operations whose model says requestcompression (CloudWatch's
            # PutMetricData); the log reads the request as the service does, after decompressing it.
            with contextlib.suppress(OSError):
                body = gzip.decompress(body)
        params: dict[str, Any] = {}
        operation = ""
        if target:
            operation = target.rsplit(".", 1)[-1]
            params = _json_object(body)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            params = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            operation = str(params.get("Action", ""))
        elif "/operation/" in path:
            # smithy-rpc-v2-cbor puts the operation in the path; its CBOR body is not decoded for the log.
            operation = path.rsplit("/operation/", 1)[1].strip("/")
        failure = self.faults.take_server_error(operation) if target else None
        if failure is not None:
            if failure.after_acting:
                b"".join(self._moto_app(environ, lambda *_: lambda _data: None))  # acted on; the answer is lost
            self._log.add(
                RequestRecord(service, operation, params, time.time(), region or DEFAULT_REGION, failure.status)
            )
            payload = {"__type": failure.code, "message": _INTERNAL_ERROR}
            response = Response(
                json.dumps(payload),
                status=failure.status,
                headers={"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4())},
            )
            return response(environ, start_response)
        if self.account_id != DEFAULT_ACCOUNT_ID:
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.account_id
        captured: list[int] = []

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            captured.append(int(status.split(" ", 1)[0]))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        extra = self.faults.item_member(operation) if operation else None
        if extra is not None:
            return self._with_item_member(environ, start_response, extra, captured, service, operation, params, region)
        result = self._moto_app(environ, recording_start_response)
        self._log.add(
            RequestRecord(
                service,
                operation or f"{environ.get('REQUEST_METHOD', '')} {path}",
                params,
                time.time(),
                region or DEFAULT_REGION,
                captured[0] if captured else 200,
            )
        )
        return result

    def _with_item_member(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        extra: tuple[str, str, Any],
        captured: list[int],
        service: str,
        operation: str,
        params: dict[str, Any],
        region: str | None,
    ) -> Iterable[bytes]:
        """moto's answer with ``extra``'s member added to each item of its list (Faults.extra_item_member)."""
        assert self._moto_app is not None
        answered: list[tuple[str, list[tuple[str, str]]]] = []

        def keep(status: str, headers: Any, exc_info: Any = None) -> Any:
            answered.append((status, list(headers)))
            return lambda _data: None

        body = b"".join(self._moto_app(environ, keep))
        status, headers = answered[0]
        items, member, value = extra
        try:
            document = json.loads(body)
            for item in document.get(items) or []:
                item[member] = value
            body = json.dumps(document).encode()
        except ValueError:
            pass  # not JSON: passed on as it is
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"] + [("Content-Length", str(len(body)))]
        code = int(status.split(" ", 1)[0])
        captured.append(code)
        self._log.add(RequestRecord(service, operation, params, time.time(), region or DEFAULT_REGION, code))
        start_response(status, headers)
        return [body]

    # Control API

    def _control(self, request: Request) -> Response:
        route = request.path[len(CONTROL_PREFIX) :].strip("/")
        try:
            if route == "health" and request.method == "GET":
                return _json_response({"ok": True, "url": self.url})
            if route == "requests" and request.method == "GET":
                service = request.args.get("service")
                records = [asdict(r) for r in self.requests if service is None or r.service == service]
                return _json_response({"requests": records})
            if route == "requests" and request.method == "DELETE":
                self.clear_requests()
                return _json_response({"ok": True})
            if route == "reset" and request.method == "POST":
                self.reset()
                return _json_response({"ok": True})
            if route == "faults" and request.method == "POST":
                payload = request.get_json(force=True, silent=True)
                for spec in payload if isinstance(payload, list) else [payload]:
                    apply_fault(self.faults, spec)
                return _json_response({"ok": True})
            if route == "faults" and request.method == "DELETE":
                self.faults.clear()
                return _json_response({"ok": True})
        except (KeyError, TypeError, ValueError) as error:
            return _json_response({"error": str(error)}, status=400)
        return _json_response({"error": f"no control route {request.method} {request.path}"}, status=404)


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body: bytes = environ["wsgi.input"].read(length) if length > 0 else b""
    # The forwarded app reads the body again.
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, default=str), status=status, content_type="application/json")
