"""Counting tokens when a provider's answer carries no usage (some local servers omit it).

This is an approximation, not a tokenizer: tiktoken downloads its BPE tables at run time, which baton
cannot rely on (offline machines, air-gapped runs), and no tokenizer that ships its data covers every
provider's vocabulary anyway. BPE vocabularies of current models spend about one token per short
English word, more on long or rare words, one per punctuation mark and one per group of up to three
digits; the count below follows that shape. It was not checked against the real tokenizers here
(their tables cannot be downloaded), so treat it as good to tens of percent, not better. Every figure
counted this way is flagged ``tokens_estimated`` in its record and event.
"""

from __future__ import annotations

import re

# A run of letters, a run of digits (BPE splits numbers into groups of up to three), or one other symbol.
_PIECES = re.compile(r"[^\W\d_]+|\d{1,3}|[^\w\s]|_")
_MESSAGE_OVERHEAD = 4  # role markers and separators per chat message


def count_tokens(text: str) -> int:
    """Approximate token count of ``text``."""
    if not text:
        return 0
    total = 0
    for piece in _PIECES.findall(text):
        # Words up to ~6 letters are usually one token; longer ones split into pieces of ~4 letters.
        total += 1 if len(piece) <= 6 else (len(piece) + 3) // 4
    return max(total, 1)


def count_message_tokens(contents: list[str]) -> int:
    """Approximate prompt tokens of a chat made of these message contents."""
    return sum(count_tokens(c) + _MESSAGE_OVERHEAD for c in contents) + 2
