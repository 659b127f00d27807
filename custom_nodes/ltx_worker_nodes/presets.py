"""Camera presets of the LTX-2 camera-control LoRAs (Lightricks/LTX-2-19b-LoRA-Camera-Control-*).

Plain data with no ComfyUI import, so tools and tests can read it without a ComfyUI. The preset
names are the worker's contract names (``dolly_in``); the LoRA files spell them with hyphens
(``ltx-2-19b-lora-camera-control-dolly-in.safetensors``).
"""

from __future__ import annotations

#: The preset that leaves the model unchanged.
NONE = "none"

#: Camera moves, in the order the node lists them.
MOVES: tuple[str, ...] = (
    "static",
    "dolly_in",
    "dolly_out",
    "dolly_left",
    "dolly_right",
    "jib_up",
    "jib_down",
)

#: Every option of the node's ``preset`` input: "none" first, then the moves.
PRESETS: tuple[str, ...] = (NONE, *MOVES)

#: Camera move -> LoRA file name in ComfyUI's ``loras`` folder.
CAMERA_LORAS: dict[str, str] = {
    move: f"ltx-2-19b-lora-camera-control-{move.replace('_', '-')}.safetensors" for move in MOVES
}


def lora_file(preset: str) -> str:
    """The LoRA file name of a camera move preset (``dolly_in`` -> ``...-dolly-in.safetensors``).

    Raises:
        ValueError: `preset` is "none" or not a known camera move.
    """
    try:
        return CAMERA_LORAS[preset]
    except KeyError:
        raise ValueError(
            f"unknown camera preset {preset!r}; one of {', '.join(MOVES)}"
        ) from None


def hub_repo(preset: str) -> str:
    """The Hugging Face repository that publishes a preset's LoRA (``jib_up`` ->
    ``Lightricks/LTX-2-19b-LoRA-Camera-Control-Jib-Up``).

    Raises:
        ValueError: `preset` is "none" or not a known camera move.
    """
    lora_file(preset)
    return "Lightricks/LTX-2-19b-LoRA-Camera-Control-" + "-".join(
        part.capitalize() for part in preset.split("_")
    )
