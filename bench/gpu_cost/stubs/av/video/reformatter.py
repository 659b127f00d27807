"""Stand-in for ``av.video.reformatter``: the colour enums ComfyUI reads at import (FFmpeg's values,
libavutil/pixfmt.h); they are plain constants, and everything else fails loudly."""

from enum import IntEnum

from av._loud import module_getattr

__getattr__ = module_getattr(__name__)


class ColorPrimaries(IntEnum):
    BT709 = 1
    UNSPECIFIED = 2
    BT470M = 4
    BT470BG = 5
    SMPTE170M = 6
    SMPTE240M = 7
    FILM = 8
    BT2020 = 9
    SMPTE428 = 10
    SMPTE431 = 11
    SMPTE432 = 12
    EBU3213 = 22


class ColorRange(IntEnum):
    UNSPECIFIED = 0
    MPEG = 1
    JPEG = 2


class ColorTrc(IntEnum):
    BT709 = 1
    UNSPECIFIED = 2
    GAMMA22 = 4
    GAMMA28 = 5
    SMPTE170M = 6
    SMPTE240M = 7
    LINEAR = 8
    LOG = 9
    LOG_SQRT = 10
    IEC61966_2_4 = 11
    BT1361_ECG = 12
    IEC61966_2_1 = 13
    BT2020_10 = 14
    BT2020_12 = 15
    SMPTE2084 = 16
    SMPTE428 = 17
    ARIB_STD_B67 = 18
