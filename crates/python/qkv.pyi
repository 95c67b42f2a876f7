"""Type stubs for qkv: sentence embeddings from qkv's Rust core.

maturin ships this file in the wheel beside the extension module, with a ``py.typed``
marker (PEP 561), so type checkers and editors see these signatures.
"""

import os
from collections.abc import Iterable
from typing import Literal, Optional, Union

import numpy as np
import numpy.typing as npt

__version__: str
PRECISIONS: list[str]
"""The precisions ``SentenceEncoder`` accepts (``["f32"]``)."""

class SentenceEncoder:
    """A sentence-embedding model loaded from a local sentence-transformers directory.

    The directory holds config.json, model.safetensors and tokenizer.json, and when present
    modules.json, 1_Pooling/config.json, sentence_bert_config.json and
    config_sentence_transformers.json (prompts). A Hugging Face id (``org/name``) is looked
    up in the local Hugging Face cache; nothing is downloaded.

    Args:
        model_name_or_path: the model directory or a cached hub id.
        threads: compute threads; default ``OMP_NUM_THREADS`` when set, else the CPUs this
            process may use (affinity mask and cgroup quota, not the host's core count).
        precision: only ``"f32"`` for now.

    Raises:
        FileNotFoundError: the directory or a required file does not exist.
        NotADirectoryError: the path is a file.
        ValueError: invalid ``threads`` or ``precision``, or ``OMP_NUM_THREADS``.
        RuntimeError: a malformed model file.
    """

    def __init__(
        self,
        model_name_or_path: Union[str, os.PathLike[str]],
        threads: Optional[int] = None,
        precision: Literal["f32"] = "f32",
    ) -> None: ...
    def encode(
        self,
        sentences: Union[str, Iterable[str]],
        batch_size: int = 32,
        normalize_embeddings: Optional[bool] = None,
        prompt_name: Optional[str] = None,
        dimensions: Optional[int] = None,
        show_progress_bar: Optional[bool] = False,
    ) -> npt.NDArray[np.float32]:
        """Embeds sentences; the GIL is released while computing.

        Returns float32 ``(len(sentences), dim)`` in input order, or ``(dim,)`` for one
        ``str``. ``normalize_embeddings=None`` follows the model directory. ``dimensions``
        keeps the first values of each embedding (Matryoshka), re-normalized when
        normalization is on. ``prompt_name`` puts a prompt from
        config_sentence_transformers.json before each text.

        Raises:
            TypeError: ``sentences`` is not a str or an iterable of str; wrong argument types.
            ValueError: out-of-range arguments, an unknown prompt, a lone surrogate in a text.
        """
        ...
    def tokenize(self, texts: Union[str, Iterable[str]]) -> dict[str, npt.NDArray[np.int64]]:
        """Token ids as ``encode`` sees them, padded with 0 to the longest text.

        Returns ``input_ids``, ``token_type_ids`` and ``attention_mask``, int64 ``(n, longest)``.
        """
        ...
    @property
    def dim(self) -> int:
        """Embedding width."""
        ...
    @property
    def max_seq_length(self) -> int:
        """Texts are truncated at this many tokens, special tokens included."""
        ...
    @property
    def threads(self) -> int:
        """Compute threads of this encoder."""
        ...
    @property
    def prompts(self) -> dict[str, str]:
        """Prompt name to prefix, from config_sentence_transformers.json."""
        ...
    def get_sentence_embedding_dimension(self) -> int:
        """Embedding width, under sentence-transformers' name."""
        ...
