"""Every name the system shares across processes: containers, queues, partition keys, env vars.

Kept in one place so the function app, the node agent, the CLI and the storage adapters
agree on them (and so renaming one is one edit).
"""

from __future__ import annotations

# --- state store containers (Cosmos containers / SQLite tables) and their partition keys ---
JOBS = "jobs"  # pk = job id (listing jobs is a cross-partition query)
TASKS = "tasks"  # pk = job id; id = f"{job_id}.{index}" (one document per sweep index)
NODES = "nodes"  # pk = pool name
SESSIONS = "sessions"  # pk = session id; id "session" (SOA session records)
SOA = (
    "soa"  # pk = session id: a durable session's request/response/ack batches (hpcburst.services.soa.journal)
)
SERVICES = "services"  # pk = SERVICES; id = service name (SOA service registrations)
PACKAGES = "packages"  # pk = package name
USERS = "users"  # pk = USERS (one partition: few users); id = user name
TOKENS = "tokens"  # pk = TOKENS; id = public token id (first hex digits of the secret's sha256)
POOLS = "pools"  # pk = POOLS; id = pool name
TEMPLATES = "templates"  # pk = TEMPLATES; id = template name
BURST = "burst"  # pk = "controller" (id "record": the burst controller's state) or "log" (its decisions)

# Top-level document fields each container can be queried by (indexed in SQLite; Cosmos indexes all).
INDEXED_FIELDS: dict[str, tuple[str, ...]] = {
    JOBS: ("state", "owner", "priority", "submitted_at"),
    # open_batch / holder: the batch while Queued or Running / the node while Running (absent otherwise)
    TASKS: ("state", "index", "node", "batch", "open_batch", "holder", "task"),
    NODES: ("state", "pool", "last_heartbeat"),
    SESSIONS: ("state", "owner"),
    SOA: ("kind",),
    SERVICES: ("name",),
    PACKAGES: ("name", "version"),
    USERS: ("admin",),
    TOKENS: ("kind", "subject"),
    POOLS: ("created_at",),
    BURST: ("at",),
    TEMPLATES: ("name",),
}
# Indexed fields set only while a document is open (Queued or Running): their indexes stay small, so walking
# one in order (within a partition, filtering by state) is cheaper than reading every match and sorting.
SPARSE_FIELDS: dict[str, tuple[str, ...]] = {TASKS: ("open_batch", "holder")}

# --- blob containers ---
BLOB_OUTPUT = "hpc-output"  # task stdout/stderr and output files
BLOB_DATA = "hpc-data"  # user data (hpcburst data upload)
BLOB_PACKAGES = "hpc-packages"  # application packages (hpcpack)
BLOB_LARGE_MESSAGES = "hpc-large-messages"  # claim-check payloads for queue messages over the limit

# --- queues ---
DISPATCH_QUEUE = "hpc-dispatch"  # batches of sweep indices to make leasable
POISON_SUFFIX = "-poison"

# Azure queue messages are capped at 64 KiB after base64; payloads above this go to blob storage.
QUEUE_INLINE_LIMIT = 48 * 1024

# --- environment variables (user-facing contract) ---
ENV_URL = "HPCBURST_URL"  # CLI/SDK: where the cluster's HTTP API is
ENV_TOKEN = "HPCBURST_TOKEN"  # CLI/SDK: a user's bearer token (`hpcburst user add` prints one)
ENV_JOIN_TOKEN = "HPCBURST_JOIN_TOKEN"  # agent: the pool's join secret (`hpcburst pool join-token POOL`)
ENV_MAX_BODY = "HPCBURST_MAX_BODY_BYTES"  # service: largest request body accepted (default 1 MiB)
ENV_STATE_BACKEND = "HPCBURST_STATE_BACKEND"  # "sqlite" (default) | "cosmos"
ENV_SQLITE_PATH = "HPCBURST_SQLITE_PATH"
ENV_COSMOS_ENDPOINT = "HPCBURST_COSMOS_ENDPOINT"
ENV_COSMOS_KEY = "HPCBURST_COSMOS_KEY"
ENV_COSMOS_DATABASE = "HPCBURST_COSMOS_DATABASE"
ENV_COSMOS_VERIFY_TLS = "HPCBURST_COSMOS_VERIFY_TLS"
# "1": the Cosmos endpoint is @vercel/cosmosdb-server (tests only), whose point read of a missing item answers 500
ENV_COSMOS_EMULATOR = "HPCBURST_COSMOS_EMULATOR"
ENV_STORAGE_CONNECTION = "AzureWebJobsStorage"  # Storage account connection string (Functions' own name)
# identity-based host storage (no keys): the account name, read by the Functions host and by Settings
ENV_STORAGE_ACCOUNT_NAME = "AzureWebJobsStorage__accountName"
ENV_STORAGE_ACCOUNT_URL = (
    "HPCBURST_STORAGE_ACCOUNT_URL"  # with managed identity instead of a connection string
)
ENV_DATA_DIR = "HPCBURST_DATA_DIR"
ENV_AZURE_INSTANCE = "WEBSITE_INSTANCE_ID"  # set by App Service on every instance: the process runs in Azure
ENV_HEARTBEAT_INTERVAL = "HPCBURST_HEARTBEAT_INTERVAL"  # seconds between agent heartbeats (service side)
ENV_NODE_TIMEOUT = "HPCBURST_NODE_TIMEOUT"  # seconds without heartbeat before a node's work is re-queued
ENV_SCHEDULING_MODE = "HPCBURST_SCHEDULING_MODE"  # "balanced" (default) | "queued"
ENV_ENTRA_TENANT_ID = "HPCBURST_ENTRA_TENANT_ID"  # Microsoft Entra directory whose tokens the API accepts
ENV_ENTRA_AUDIENCE = "HPCBURST_ENTRA_AUDIENCE"  # the API's app id (or App ID URI) tokens must be issued for
ENV_ENTRA_ISSUER = "HPCBURST_ENTRA_ISSUER"  # override; default derived from the tenant (v2.0 endpoint)
ENV_ENTRA_JWKS_URL = "HPCBURST_ENTRA_JWKS_URL"  # override; default derived from the tenant
ENV_ENTRA_ADMIN_ROLE = "HPCBURST_ENTRA_ADMIN_ROLE"  # app role that makes a user a cluster admin
ENV_TRUST_APP_SERVICE_AUTH = "HPCBURST_TRUST_APP_SERVICE_AUTH"  # honour X-MS-CLIENT-PRINCIPAL (Easy Auth on)
ENV_MAX_OUTPUT_BYTES = "HPCBURST_MAX_OUTPUT_BYTES"  # most stdout/stderr bytes one output request serves
ENV_TASK_USER = "HPCBURST_TASK_USER"  # agent running as root: the account tasks run as (no user-map entry)
ENV_USER_MAP = "HPCBURST_USER_MAP"  # agent running as root: file of `hpcburst_user=local_account` lines
ENV_KEEP_TASK_DIRS = "HPCBURST_KEEP_TASK_DIRS"  # "1": keep each index's directory after it is reported
ENV_SCHEDULED_EVENTS_URL = "HPCBURST_SCHEDULED_EVENTS_URL"  # cloud agent: the VM's IMDS scheduled-events URL
ENV_DEAD_MAN_MINUTES = (
    "HPCBURST_DEAD_MAN_MINUTES"  # cloud agent: stop when the service is unreachable this long
)

# HPC Pack task environment, set by the node agent for every index it runs.
CCP_ENV = (
    "CCP_JOBID",
    "CCP_TASKID",
    "CCP_TASKINSTANCEID",
    "CCP_WORKDIR",
    "CCP_PACKAGE_ROOT",
    "CCP_NODES",
    "CCP_NUMCPUS",
    "CCP_RETRY_COUNT",
    "CCP_JOBNAME",
)

# Azurite's well-known development account.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
