"""Record/replay settings: the mode and the recording directory, read from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

MODE_ENV = "POLYSTACK_TEST_INFERENCE_MODE"
DIR_ENV = "POLYSTACK_TEST_RECORDING_DIR"


class InferenceMode(StrEnum):
    """What the transport does with outbound provider traffic."""

    LIVE = "live"  # pass through untouched
    RECORD = "record"  # always call upstream and (over)write the recording
    REPLAY = "replay"  # answer only from recordings
    RECORD_IF_MISSING = "record-if-missing"  # replay when recorded, otherwise record


class RecorderConfigError(ValueError):
    """The record/replay environment variables are missing or wrong."""


@dataclass(frozen=True)
class RecorderSettings:
    mode: InferenceMode
    directory: Path | None  # None only in live mode


def parse_mode(value: str | None) -> InferenceMode:
    """The mode named by `value`; unset or empty means live. Accepts `record_if_missing` too."""
    text = (value or "").strip().lower().replace("_", "-")
    if not text:
        return InferenceMode.LIVE
    try:
        return InferenceMode(text)
    except ValueError:
        allowed = ", ".join(mode.value for mode in InferenceMode)
        raise RecorderConfigError(f"{MODE_ENV}={value!r} is not a mode; use one of: {allowed}") from None


def settings_from_env(env: Mapping[str, str] | None = None) -> RecorderSettings:
    """Reads the mode and directory; a non-live mode without a directory is an error, not a guess."""
    env = os.environ if env is None else env
    mode = parse_mode(env.get(MODE_ENV))
    if mode is InferenceMode.LIVE:
        return RecorderSettings(mode, None)
    directory = (env.get(DIR_ENV) or "").strip()
    if not directory:
        raise RecorderConfigError(
            f"{MODE_ENV}={mode.value} needs {DIR_ENV} set to the folder that holds the recordings"
        )
    return RecorderSettings(mode, Path(directory).expanduser().resolve())
