"""What the broker said of each message published on one channel in confirm mode.

A channel in confirm mode numbers its publishes (delivery tags, from 1); the broker
answers each with ``basic.ack`` or ``basic.nack``, one tag at a time or, with
``multiple``, every tag up to one. A batch knows the tags it published, and asks here
whether all of them were answered and how.
"""

from __future__ import annotations


class Confirms:
    """The tags of one channel: how many were published, which were acked or nacked."""

    def __init__(self) -> None:
        #: Publishes on the channel so far: the last delivery tag.
        self.published = 0
        self._upto = 0  # every tag up to this one was answered
        self._acked: set[int] = set()
        self._nacked: set[int] = set()

    def forget_answers(self) -> None:
        """The batches so far are decided: their single answers need not be kept."""
        self._acked.clear()
        self._nacked.clear()

    def on_ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self._upto = max(self._upto, tag)
        else:
            self._acked.add(tag)

    def on_nack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self._nacked.update(t for t in range(self._upto + 1, tag + 1) if t not in self._acked)
            self._upto = max(self._upto, tag)
        else:
            self._nacked.add(tag)

    def answered(self, tag: int) -> bool:
        return tag <= self._upto or tag in self._acked or tag in self._nacked

    def nacked(self, tag: int) -> bool:
        return tag in self._nacked
