"""Dynamic redundancy: after an aggregation, which items stop, which wait, which get one more answer.

Pure (no Django): the service applies the decision; bench/dynamic_redundancy.py replays it on the shared
datasets to measure the answers it saves against a fixed redundancy.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    complete: list[int]
    reopen: list[int]
    raise_redundancy: list[int]


def redundancy_decisions(
    *, answers: dict[int, int], redundancy: dict[int, int], confidence: dict[int, float], target: float, maximum: int
) -> Decision:
    """Which items stop, which stay open, which get one more answer. Pure.

    An item is judged only once every answer it was promised is in (answers >= redundancy): confident
    enough -> complete; not confident and below `maximum` -> one more answer; at `maximum` -> complete
    (best effort, its low confidence shows). Items still waiting for answers stay open.
    """
    complete, reopen, raise_ = [], [], []
    for item_id, count in answers.items():
        if count < redundancy[item_id]:
            reopen.append(item_id)
        elif confidence[item_id] >= target or redundancy[item_id] >= maximum:
            complete.append(item_id)
        else:
            raise_.append(item_id)
    return Decision(complete, reopen, raise_)
