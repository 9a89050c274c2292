"""acekit: stand up ACE-Step 1.5 as a REST backend for a DAW plugin, drive it, judge what it produces."""

from acekit.keys import Key, KeyParseError, parse_key

__version__ = "0.1.0"

# The client imports __version__ above, so these come after it.
from acekit.client import AsyncClient, Client  # noqa: E402
from acekit.errors import (  # noqa: E402
    AceKitError,
    ApiError,
    AuthError,
    BadRequest,
    QueueFull,
    RequestTimeout,
    ServerError,
    ServerUnreachable,
    ServiceUnavailable,
    TaskError,
    TaskFailed,
    TaskTimeout,
    UnknownTask,
)
from acekit.models import (  # noqa: E402
    AudioItem,
    CompleteRequest,
    CoverRequest,
    ExtractRequest,
    GenerationOutcome,
    Health,
    LegoRequest,
    Metas,
    ModelEntry,
    ModelList,
    Progress,
    RepaintRequest,
    Stats,
    SubmitResult,
    TaskRequest,
    TaskResult,
    Text2MusicRequest,
    make_request,
)
from acekit.contract import TaskStatus, TaskType  # noqa: E402

__all__ = [
    "Key", "KeyParseError", "parse_key", "__version__",
    "Client", "AsyncClient",
    "AceKitError", "ApiError", "AuthError", "BadRequest", "QueueFull", "RequestTimeout", "ServerError",
    "ServerUnreachable", "ServiceUnavailable", "TaskError", "TaskFailed", "TaskTimeout", "UnknownTask",
    "TaskRequest", "Text2MusicRequest", "RepaintRequest", "CoverRequest", "LegoRequest", "ExtractRequest",
    "CompleteRequest", "make_request",
    "TaskResult", "AudioItem", "Metas", "Progress", "SubmitResult", "Health", "ModelEntry", "ModelList",
    "Stats", "GenerationOutcome", "TaskStatus", "TaskType",
]
