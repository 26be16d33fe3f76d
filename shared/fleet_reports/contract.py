"""The deployment contract between ``template.yaml`` and the code, as data.

Names flow one way: template ``!Ref`` -> environment variable -> settings field
(:mod:`fleet_reports.settings`). ``tests/template`` proves that the template gives each
function exactly the variables of :data:`FUNCTION_ENV` (plus the Globals of
:data:`GLOBAL_ENV`) and the permissions of :data:`FUNCTION_ACCESS`, nothing more.

Keys are the template's logical ids. Pure data: no AWS, no I/O.
"""

from __future__ import annotations

from typing import Final, Literal

Access = Literal["read", "write", "readwrite", "send", "consume", "consume-send"]
"""What a function may do with a resource.

* tables: ``read`` (get/query), ``readwrite`` (also put/update/delete items), ``write`` (update
  items, never read them)
* buckets: ``read`` (get/list objects), ``write`` (put and/or delete objects), ``readwrite``
* queues: ``send`` (send messages, or its dead-letter queue), ``consume`` (its SQS event source: receive/delete),
  ``consume-send`` (both: the worker sends the jobs of a report it splits across workers)
"""

# --------------------------------------------------------------------------- resources
REPORTS_TABLE: Final = "ReportsTable"
FLEET_TABLE: Final = "FleetTable"
REPORTS_BUCKET: Final = "ReportsBucket"
TRACK_BUCKET: Final = "TrackBucket"
JOBS_QUEUE: Final = "ReportJobsQueue"
JOBS_DLQ: Final = "ReportJobsDLQ"
IMPORT_DLQ: Final = "ImportDLQ"

# --------------------------------------------------------------------------- functions
GENERATE: Final = "GenerateFunction"
LIST: Final = "ListFunction"
STATUS: Final = "StatusFunction"
RETRIEVE: Final = "RetrieveFunction"
DOWNLOAD: Final = "DownloadFunction"
DELETE: Final = "DeleteFunction"
AUTH: Final = "AuthFunction"
LOGOUT: Final = "LogoutFunction"
PLUGINS: Final = "PluginsFunction"
WORKER: Final = "WorkerFunction"
IMPORT: Final = "ImportFunction"

API_ROUTES: Final[dict[str, str]] = {
    GENERATE: "/report/tracker/generate",
    LIST: "/report/tracker/list",
    STATUS: "/report/tracker/status",
    RETRIEVE: "/report/tracker/retrieve",
    DOWNLOAD: "/report/tracker/download",
    DELETE: "/report/tracker/delete",
    AUTH: "/user/auth",
    LOGOUT: "/user/logout",
    PLUGINS: "/plugin/list",
}
"""Every API function and its path; each answers GET and POST."""

OPENAPI_ROUTE: Final = "/openapi.json"
"""The API's OpenAPI document (``fleet_reports.api.openapi``): GET only, no hash needed."""

DOCUMENT_ROUTES: Final[dict[str, str]] = {OPENAPI_ROUTE: PLUGINS}
"""Paths that serve a document rather than an action -> the API function that answers them too
(GET only): a function of its own would add a role, a log group and a cold start for a static
document, so the plugin list's function, which describes the API already, serves it."""

API_FUNCTIONS: Final[frozenset[str]] = frozenset(API_ROUTES)
ALL_FUNCTIONS: Final[frozenset[str]] = API_FUNCTIONS | {WORKER, IMPORT}

# --------------------------------------------------------------------------- S3 events
IMPORT_PREFIX: Final = "incoming/"
"""Uploads under this prefix of the track bucket start an import (``incoming/<tracker_id>/<name>``)."""

S3_EVENTS: Final[dict[str, tuple[str, str]]] = {IMPORT: (TRACK_BUCKET, IMPORT_PREFIX)}
"""Function logical id -> (bucket logical id, key prefix) of its S3 ObjectCreated event.

Such a function must not refer to its bucket (environment, policies): the bucket's notification
refers to the function, so CloudFormation would see a cycle. It takes the bucket from each S3
record, and its access to the bucket is a separate ``AWS::IAM::Policy`` on its role
(:data:`ROLE_POLICIES`)."""

ROLE_POLICIES: Final[dict[str, str]] = {IMPORT: "ImportTrackAccessPolicy"}
"""Function logical id -> the ``AWS::IAM::Policy`` resource attached to its role (see :data:`S3_EVENTS`)."""

IMPORT_KEY_PREFIXES: Final = ("IMPORT#", "IMPORTS#")
"""Partition keys of the fleet table the import function may write (its ledger and its outcomes);
the template limits its writes to them with ``dynamodb:LeadingKeys``."""

# --------------------------------------------------------------------------- environment
GLOBAL_ENV: Final[frozenset[str]] = frozenset(
    {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL", "LOG_LEVEL"}
)
"""Set on every function through the template's Globals."""

ENV_SOURCES: Final[dict[str, str]] = {
    "REPORTS_TABLE": REPORTS_TABLE,
    "FLEET_TABLE": FLEET_TABLE,
    "REPORTS_BUCKET": REPORTS_BUCKET,
    "TRACK_BUCKET": TRACK_BUCKET,
    "JOBS_QUEUE_URL": JOBS_QUEUE,
    "MAX_TIME_SPAN": "MaxTimeSpan",
    "POINT_REPORT_MAX_TIME_SPAN": "PointReportMaxTimeSpan",
    "MAX_PARALLEL_REPORTS": "MaxParallelReports",
    "MAX_TRACKERS_PER_REPORT": "MaxTrackersPerReport",
    "RETENTION_DAYS": "RetentionDays",
    "SESSION_DAYS": "SessionDays",
    "MAX_RECEIVE_COUNT": "MaxReceiveCount",
    "FAN_OUT_TRACKER_DAYS": "FanOutTrackerDays",
    "MAX_BODY_BYTES": "MaxBodyBytes",
    "CALLER_RATE_LIMIT": "CallerRateLimit",
    "CALLER_GENERATE_LIMIT": "CallerGenerateLimit",
    "LOGIN_ATTEMPT_LIMIT": "LoginAttemptLimit",
    "ADDRESS_ATTEMPT_LIMIT": "AddressAttemptLimit",
    "LOGIN_LOCKOUT_MAX_SECONDS": "LoginLockoutMaxSeconds",
    "POWERTOOLS_LOG_LEVEL": "LogLevel",
    "LOG_LEVEL": "LogLevel",
}
"""Environment variable -> the template resource or parameter its ``!Ref`` names."""

_SPANS: Final = frozenset({"MAX_TIME_SPAN", "POINT_REPORT_MAX_TIME_SPAN"})
# Every API function reads a request body; those whose caller is counted (service.limits) also
# write that count to the reports table.
_REQUESTS: Final = frozenset({"MAX_BODY_BYTES"})
_RATE_LIMITED: Final = _REQUESTS | {"REPORTS_TABLE", "CALLER_RATE_LIMIT"}

FUNCTION_ENV: Final[dict[str, frozenset[str]]] = {
    GENERATE: frozenset(
        {
            "REPORTS_TABLE",
            "FLEET_TABLE",
            "JOBS_QUEUE_URL",
            "MAX_PARALLEL_REPORTS",
            "MAX_TRACKERS_PER_REPORT",
            "RETENTION_DAYS",
            "CALLER_GENERATE_LIMIT",
        }
    )
    | _SPANS
    | _RATE_LIMITED,
    LIST: frozenset({"REPORTS_TABLE", "FLEET_TABLE"}) | _RATE_LIMITED,
    STATUS: frozenset({"REPORTS_TABLE", "FLEET_TABLE"}) | _RATE_LIMITED,
    RETRIEVE: frozenset({"REPORTS_TABLE", "FLEET_TABLE", "REPORTS_BUCKET"}) | _RATE_LIMITED,
    DOWNLOAD: frozenset({"REPORTS_TABLE", "FLEET_TABLE", "REPORTS_BUCKET"}) | _RATE_LIMITED,
    DELETE: frozenset({"REPORTS_TABLE", "FLEET_TABLE", "REPORTS_BUCKET"}) | _RATE_LIMITED,
    AUTH: frozenset(
        {"FLEET_TABLE", "SESSION_DAYS", "LOGIN_ATTEMPT_LIMIT", "ADDRESS_ATTEMPT_LIMIT", "LOGIN_LOCKOUT_MAX_SECONDS"}
    )
    | _REQUESTS,
    LOGOUT: frozenset({"FLEET_TABLE"}) | _REQUESTS,
    PLUGINS: frozenset({"FLEET_TABLE"}) | _SPANS | _RATE_LIMITED,
    WORKER: frozenset(
        {
            "REPORTS_TABLE",
            "FLEET_TABLE",
            "REPORTS_BUCKET",
            "TRACK_BUCKET",
            "RETENTION_DAYS",
            "MAX_RECEIVE_COUNT",
            "JOBS_QUEUE_URL",  # a report split across workers: its parts' and assembly's jobs
            "FAN_OUT_TRACKER_DAYS",
        }
    ),
    # No TRACK_BUCKET: the bucket comes with each S3 record (see S3_EVENTS).
    IMPORT: frozenset({"FLEET_TABLE"}),
}
"""Function logical id -> the environment variables it reads (besides :data:`GLOBAL_ENV`)."""

# --------------------------------------------------------------------------- the worker's clock
WORKER_MAX_TIMEOUT_S: Final = 900
"""The largest ``WorkerTimeout`` the template allows (its ``MaxValue``): no worker run lasts longer."""

JOBS_VISIBILITY_TIMEOUT_S: Final = 5400
"""The jobs queue's ``VisibilityTimeout``: 6 x :data:`WORKER_MAX_TIMEOUT_S`, as Lambda recommends for
SQS event sources. A job whose worker died is delivered again this long after it was received.

The worker's lease and the staleness of an abandoned report are tied to both
(:mod:`fleet_reports.settings`), and ``tests/template`` proves the template says the same."""

JOBS_RETENTION_S: Final = 345600
"""The jobs queue's ``MessageRetentionPeriod`` (4 days): a report still ``queued`` longer than this
(plus margin) after it was created has no job message left anywhere, whatever happened to it."""

# --------------------------------------------------------------------------- permissions
FUNCTION_ACCESS: Final[dict[str, dict[str, Access]]] = {
    GENERATE: {FLEET_TABLE: "read", REPORTS_TABLE: "readwrite", JOBS_QUEUE: "send"},
    # list, status, retrieve and download write the reports table too: a report whose worker
    # stopped for good is failed when seen (service.reports._settle), freeing its parallel slot.
    LIST: {FLEET_TABLE: "read", REPORTS_TABLE: "readwrite"},
    STATUS: {FLEET_TABLE: "read", REPORTS_TABLE: "readwrite"},
    RETRIEVE: {FLEET_TABLE: "read", REPORTS_TABLE: "readwrite", REPORTS_BUCKET: "read"},
    # s3:GetObject also backs the presigned URLs the download role signs.
    DOWNLOAD: {FLEET_TABLE: "read", REPORTS_TABLE: "readwrite", REPORTS_BUCKET: "read"},
    # write = delete the report's files (s3:DeleteObject), never read them.
    DELETE: {FLEET_TABLE: "read", REPORTS_TABLE: "readwrite", REPORTS_BUCKET: "write"},
    # readwrite = read logins and users; write only sessions (CRED#) and failed sign-ins (SIGNIN#)
    AUTH: {FLEET_TABLE: "readwrite"},
    LOGOUT: {FLEET_TABLE: "readwrite"},
    # write = its caller's request count only (RATE#<caller> items, service.limits)
    PLUGINS: {FLEET_TABLE: "read", REPORTS_TABLE: "write"},
    # The worker writes (and, for a report deleted mid-run, deletes) files; it reads back only the
    # parts of a report split across workers (reports/<id>/parts/...).
    WORKER: {
        FLEET_TABLE: "read",
        REPORTS_TABLE: "readwrite",
        REPORTS_BUCKET: "readwrite",
        # read the days; write only odometer/ (an odometer summary rebuilt, store.odometer.history)
        TRACK_BUCKET: "readwrite",
        # consume its jobs; send the parts and the assembly of a report split across workers
        JOBS_QUEUE: "consume-send",
        JOBS_DLQ: "consume",  # a dead-lettered job fails its report (service.worker.settle_dead_letter)
    },
    # readwrite on the fleet table = read trackers, write only its IMPORT#/IMPORTS# items. On the
    # track bucket: read incoming/, tracks/, events/, odometer/; write tracks/, events/, odometer/,
    # outcomes/; never delete.
    # send = its dead-letter queue (failed S3 events, after Lambda's retries).
    IMPORT: {FLEET_TABLE: "readwrite", TRACK_BUCKET: "readwrite", IMPORT_DLQ: "send"},
}
"""Function logical id -> {resource logical id: access}; a resource not listed is not touched."""


def can_read(access: Access | None) -> bool:
    return access in ("read", "readwrite")


def can_write(access: Access | None) -> bool:
    return access in ("write", "readwrite")
