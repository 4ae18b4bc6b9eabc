"""Record/replay of provider HTTP traffic for fast, deterministic tests."""

from polystack.testing.context import using_test_id
from polystack.testing.errors import RecordingError, RecordingMissingError
from polystack.testing.recorder import RecordReplayTransport, wrap_transport
from polystack.testing.settings import InferenceMode, RecorderConfigError, RecorderSettings

__all__ = [
    "InferenceMode",
    "RecordReplayTransport",
    "RecorderConfigError",
    "RecorderSettings",
    "RecordingError",
    "RecordingMissingError",
    "using_test_id",
    "wrap_transport",
]
