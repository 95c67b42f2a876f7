"""Type stubs for qkv: sentence embeddings and cross-encoder scores from qkv's Rust core.

maturin ships this file in the wheel beside the extension module, with a ``py.typed``
marker (PEP 561), so type checkers and editors see these signatures.
"""

import os
from collections.abc import Iterable, Sequence
from typing import Literal, Optional, TypedDict, Union, overload

import numpy as np
import numpy.typing as npt

__version__: str
PRECISIONS: list[str]
"""The precisions ``SentenceEncoder`` and ``CrossEncoder`` accept: ``["f32", "bf16", "int8"]``."""

Precision = Literal["f32", "bf16", "int8"]
Pair = Union[tuple[str, str], Sequence[str]]

class SentenceEncoder:
    """A sentence-embedding model loaded from a sentence-transformers directory.

    The directory holds config.json, model.safetensors and tokenizer.json, and when present
    modules.json, 1_Pooling/config.json, sentence_bert_config.json and
    config_sentence_transformers.json (prompts). Any family qkv runs: BERT, RoBERTa and
    XLM-RoBERTa, MPNet, DistilBERT, ModernBERT. A Hugging Face id (``org/name``) is looked
    up in the local Hugging Face cache and downloaded into it when missing (unless
    ``HF_HUB_OFFLINE`` is set).

    Args:
        model_name_or_path: the model directory or a hub id.
        threads: compute threads; default ``OMP_NUM_THREADS`` when set, else the CPUs this
            process may use (affinity mask and cgroup quota, not the host's core count).
        precision: ``"f32"`` (exact), ``"bf16"`` or ``"int8"`` for the linear layers;
            ``None`` is the directory's (f32 for a plain checkpoint, the saved precision for
            a directory written by ``qkv quantize``).

    Raises:
        FileNotFoundError: the directory, a required file or the hub id does not exist.
        NotADirectoryError: the path is a file.
        ValueError: invalid ``threads`` or ``precision``, or ``OMP_NUM_THREADS``.
        RuntimeError: a malformed model file.
    """

    def __init__(
        self,
        model_name_or_path: Union[str, os.PathLike[str]],
        threads: Optional[int] = None,
        precision: Optional[Precision] = None,
    ) -> None: ...
    def encode(
        self,
        sentences: Union[str, Iterable[str]],
        batch_size: int = 32,
        normalize_embeddings: Optional[bool] = None,
        prompt_name: Optional[str] = None,
        prompt: Optional[str] = None,
        dimensions: Optional[int] = None,
        truncate: bool = True,
        show_progress_bar: Optional[bool] = False,
    ) -> npt.NDArray[np.float32]:
        """Embeds sentences; the GIL is released while computing.

        Returns float32 ``(len(sentences), dim)`` in input order, or ``(dim,)`` for one
        ``str``. ``normalize_embeddings=None`` follows the model directory. ``prompt_name``
        puts a prompt from config_sentence_transformers.json before each text (``None``: the
        directory's default prompt, if any); ``prompt`` puts this text instead (not with
        ``prompt_name``). ``dimensions`` keeps the first values of each embedding
        (Matryoshka), normalized after truncation when normalization is on. ``truncate=False``
        makes a text longer than ``max_seq_length`` tokens a ``ValueError``.

        Raises:
            TypeError: ``sentences`` is not a str or an iterable of str; wrong argument types.
            ValueError: out-of-range arguments, an unknown prompt name, both ``prompt`` and
                ``prompt_name``, a lone surrogate in a text, a text too long with
                ``truncate=False``.
        """
        ...
    def tokenize(
        self,
        texts: Union[str, Iterable[str]],
        prompt_name: Optional[str] = None,
        prompt: Optional[str] = None,
    ) -> dict[str, npt.NDArray[np.int64]]:
        """Token ids as ``encode`` sees them, padded with 0 to the longest text.

        Returns ``input_ids``, ``token_type_ids`` and ``attention_mask``, int64 ``(n, longest)``.
        """
        ...
    @property
    def dim(self) -> int:
        """Embedding width (before any ``dimensions``)."""
        ...
    @property
    def max_seq_length(self) -> int:
        """Texts are truncated at this many tokens, special tokens included."""
        ...
    @property
    def precision(self) -> Precision:
        """The precision the model was loaded at."""
        ...
    @property
    def threads(self) -> int:
        """Compute threads of this encoder."""
        ...
    @property
    def prompts(self) -> dict[str, str]:
        """Prompt name to text, from config_sentence_transformers.json."""
        ...
    @property
    def default_prompt_name(self) -> Optional[str]:
        """The prompt used when a call names none, or ``None``."""
        ...
    def get_sentence_embedding_dimension(self) -> int:
        """Embedding width, under sentence-transformers' name."""
        ...

class RankResult(TypedDict, total=False):
    """One document of ``CrossEncoder.rank``: its index, its score, and (with
    ``return_documents=True``) its text."""

    corpus_id: int
    score: np.float32
    text: str

class CrossEncoder:
    """A cross-encoder (reranker or sentence-pair classifier): a
    ``*ForSequenceClassification`` checkpoint of any family qkv runs.

    Args:
        model_name_or_path: the model directory or a hub id, as for ``SentenceEncoder``.
        threads: compute threads, as for ``SentenceEncoder``.
        precision: ``"f32"``, ``"bf16"`` or ``"int8"`` for the encoder's linear layers (the
            classification head stays f32); ``None`` is the directory's.

    Raises:
        FileNotFoundError: the directory, a required file or the hub id does not exist.
        NotADirectoryError: the path is a file.
        ValueError: invalid ``threads`` or ``precision``.
        RuntimeError: a malformed model file, or a checkpoint that is not a sequence
            classifier.
    """

    def __init__(
        self,
        model_name_or_path: Union[str, os.PathLike[str]],
        threads: Optional[int] = None,
        precision: Optional[Precision] = None,
    ) -> None: ...
    @overload
    def predict(
        self,
        sentences: tuple[str, str],
        batch_size: int = 32,
        show_progress_bar: Optional[bool] = False,
        apply_softmax: bool = False,
        raw: bool = False,
    ) -> Union[np.float32, npt.NDArray[np.float32]]: ...
    @overload
    def predict(
        self,
        sentences: Iterable[Pair],
        batch_size: int = 32,
        show_progress_bar: Optional[bool] = False,
        apply_softmax: bool = False,
        raw: bool = False,
    ) -> npt.NDArray[np.float32]:
        """Scores (query, document) pairs; the GIL is released while computing.

        Returns float32 ``(n,)`` for a one-label model (sigmoid of the logit) or
        ``(n, num_labels)`` for several (softmax rows), pairs in input order; ``raw=True``
        returns the logits. One pair (a tuple or list of two str) gives a ``numpy.float32``
        or a ``(num_labels,)`` row. ``apply_softmax`` is accepted for sentence-transformers
        compatibility (several-label rows are softmax already); with ``raw`` it is an error.

        Raises:
            TypeError: not a list of pairs, or a pair holding a non-str.
            ValueError: a pair without exactly two items, a lone surrogate, ``batch_size``
                < 1, ``raw`` with ``apply_softmax``.
        """
        ...
    def rank(
        self,
        query: str,
        documents: Iterable[str],
        top_k: Optional[int] = None,
        return_documents: bool = False,
        batch_size: int = 32,
        show_progress_bar: Optional[bool] = False,
    ) -> list[RankResult]:
        """Documents ranked against ``query``, best first, ties in input order: dicts of
        ``corpus_id``, ``score`` (and ``text`` with ``return_documents``), the best
        ``top_k`` when given. One-label models only (``ValueError`` otherwise).
        """
        ...
    @property
    def num_labels(self) -> int:
        """Scores per pair (1 for a reranker)."""
        ...
    @property
    def max_length(self) -> int:
        """Pairs are truncated together at this many tokens, special tokens included."""
        ...
    @property
    def precision(self) -> Precision:
        """The precision the encoder was loaded at."""
        ...
    @property
    def threads(self) -> int:
        """Compute threads of this cross-encoder."""
        ...
